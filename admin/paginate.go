package admin

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/internal/httpapi"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// sortKey orders list items: oldest first, then by id.
type sortKey struct {
	at time.Time
	id string
}

func (k sortKey) after(c sortKey) bool {
	return k.at.After(c.at) || k.at.Equal(c.at) && k.id > c.id
}

func (k sortKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.at.UnixNano(), 10) + "|" + k.id))
}

func parseCursor(s string) (sortKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return sortKey{}, false
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return sortKey{}, false
	}
	return sortKey{time.Unix(0, n), id}, true
}

// pageKey is an item's place in the order of a list; its cursor names
// that place and parses only for the same kind of key.
type pageKey[K any] interface {
	after(K) bool
	cursor() string
}

// writePage answers one page of items (already sorted by key, oldest
// first) according to the ?cursor= and ?limit= query parameters.
func writePage[T, V any](ctx *fasthttp.RequestCtx, items []T, key func(T) sortKey, view func(T) V) error {
	return writePageBy(ctx, items, key, parseCursor, view)
}

// writePageBy is writePage for a list in another order: key gives an
// item's place in it, parse reads a cursor of that kind of key.
func writePageBy[T, V any, K pageKey[K]](ctx *fasthttp.RequestCtx, items []T, key func(T) K, parse func(string) (K, bool), view func(T) V) error {
	limit := defaultPageSize
	if s := ctx.QueryArgs().Peek("limit"); len(s) > 0 {
		n, err := strconv.Atoi(string(s))
		if err != nil || n < 1 || n > maxPageSize {
			return httpapi.BadRequest("limit: want a whole number from 1 to " + strconv.Itoa(maxPageSize))
		}
		limit = n
	}
	start := 0
	if s := ctx.QueryArgs().Peek("cursor"); len(s) > 0 {
		c, ok := parse(string(s))
		if !ok {
			return httpapi.BadRequest("cursor: not a cursor this API gave out")
		}
		start = len(items)
		for i, it := range items {
			if key(it).after(c) {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(items))
	out := wire.Page[V]{Items: make([]V, 0, end-start)}
	for _, it := range items[start:end] {
		out.Items = append(out.Items, view(it))
	}
	if end < len(items) {
		c := key(items[end-1]).cursor()
		out.NextCursor = &c
	}
	httpapi.WriteJSON(ctx, 200, out)
	return nil
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}
