package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/httpapi"
	"github.com/sdproxy/sdproxy/keystore"
)

// verifyAll is GET /admin/v1/events/verify?all=1: every live instance's
// chain verified by that instance (each asked at once, for at most
// peerTimeout), one report per instance. It answers 200 with ok false when
// a chain is broken or an instance did not answer.
func (a *Admin) verifyAll(ctx *fasthttp.RequestCtx) error {
	list := []keystore.Instance{{}}
	if a.members != nil {
		list = a.members.List()
	}
	out := wire.VerifyAll{OK: true, Instances: make([]wire.InstanceVerify, len(list))}
	verify := func(i int, in keystore.Instance, self bool) {
		r := wire.InstanceVerify{InstanceID: in.ID}
		if self {
			res, err := a.events.VerifyWith(events.VerifyOptions{})
			if err != nil {
				r.Error = "failed: " + err.Error()
			} else {
				v := VerifyView(res)
				r.Result = &v
			}
		} else {
			var v wire.VerifyResult
			if err := a.peerGet(in.AdminURL, "/admin/v1/events/verify?local=1", &v, 200, 409); err != nil {
				r.Error = "unreachable: " + err.Error()
			} else {
				r.Result = &v
			}
		}
		out.Instances[i] = r
	}
	if a.members == nil {
		verify(0, keystore.Instance{}, true)
	} else {
		a.eachInstance(list, verify)
	}
	for _, r := range out.Instances {
		if r.Result == nil || !r.Result.OK {
			out.OK = false
		}
	}
	httpapi.WriteJSON(ctx, 200, out)
	return nil
}
