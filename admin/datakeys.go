package admin

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// writeDataKeys answers the data-key versions as one list page.
func writeDataKeys(ctx *fasthttp.RequestCtx, list []keystore.DataKeyInfo) {
	items := make([]wire.DataKey, len(list))
	for i, d := range list {
		items[i] = dataKeyView(d)
	}
	httpapi.WriteJSON(ctx, 200, wire.Page[wire.DataKey]{Items: items})
}

func (a *Admin) listDataKeys(ctx *fasthttp.RequestCtx, project string) error {
	list, err := a.store.DataKeys(project)
	if err != nil {
		return err
	}
	writeDataKeys(ctx, list)
	return nil
}

func (a *Admin) rotateDataKey(ctx *fasthttp.RequestCtx, project string) error {
	info, err := a.store.RotateDataKey(project)
	if err != nil {
		return err
	}
	a.record(events.TypeDataKeyRotated, project, "", map[string]string{"version": strconv.FormatUint(uint64(info.Version), 10)})
	httpapi.WriteJSON(ctx, 201, dataKeyView(info))
	return nil
}

func (a *Admin) setMinDecryption(ctx *fasthttp.RequestCtx, project string) error {
	var in wire.MinDecryptionInput
	if err := decodeBody(ctx, &in); err != nil {
		return err
	}
	if in.MinDecryptionVersion == nil {
		return httpapi.BadRequest("min_decryption_version: required")
	}
	list, err := a.store.SetMinDecryptionVersion(project, *in.MinDecryptionVersion)
	if err != nil {
		return err
	}
	a.record(events.TypeDataKeyMinChange, project, "", map[string]string{"min_decryption_version": strconv.FormatUint(uint64(*in.MinDecryptionVersion), 10)})
	writeDataKeys(ctx, list)
	return nil
}
