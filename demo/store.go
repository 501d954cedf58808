// Package demo is the small JSON REST store that `sdproxy demo` runs as
// the demo project's upstream, so a newcomer can see that what reaches a
// service through the proxy is ciphertext. It keeps posts in memory.
package demo

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// Store serves POST /posts, GET /posts and GET /posts/{id}.
type Store struct {
	mu    sync.Mutex
	posts []json.RawMessage // index i holds post i+1
}

// maxPosts bounds the demo store's memory.
const maxPosts = 10000

// Handler serves one request.
func (s *Store) Handler(ctx *fasthttp.RequestCtx) {
	path := strings.TrimSuffix(string(ctx.Path()), "/")
	switch {
	case path == "/posts" && ctx.IsPost():
		s.create(ctx)
	case path == "/posts" && ctx.IsGet():
		s.list(ctx)
	case strings.HasPrefix(path, "/posts/") && ctx.IsGet():
		s.get(ctx, strings.TrimPrefix(path, "/posts/"))
	default:
		answer(ctx, 404, map[string]string{"error": "not found"})
	}
}

func (s *Store) create(ctx *fasthttp.RequestCtx) {
	var post map[string]json.RawMessage
	if err := json.Unmarshal(ctx.PostBody(), &post); err != nil {
		answer(ctx, 400, map[string]string{"error": "body must be a JSON object"})
		return
	}
	s.mu.Lock()
	if len(s.posts) >= maxPosts {
		s.mu.Unlock()
		answer(ctx, 507, map[string]string{"error": "demo store is full"})
		return
	}
	id := len(s.posts) + 1
	post["id"] = json.RawMessage(strconv.Itoa(id))
	raw, _ := json.Marshal(post)
	s.posts = append(s.posts, raw)
	s.mu.Unlock()
	ctx.Response.Header.Set("Location", "/posts/"+strconv.Itoa(id))
	answer(ctx, 201, json.RawMessage(raw))
}

func (s *Store) list(ctx *fasthttp.RequestCtx) {
	s.mu.Lock()
	all := append([]json.RawMessage{}, s.posts...)
	s.mu.Unlock()
	answer(ctx, 200, all)
}

func (s *Store) get(ctx *fasthttp.RequestCtx, idText string) {
	id, err := strconv.Atoi(idText)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || id < 1 || id > len(s.posts) {
		answer(ctx, 404, map[string]string{"error": "no such post"})
		return
	}
	answer(ctx, 200, s.posts[id-1])
}

func answer(ctx *fasthttp.RequestCtx, status int, v any) {
	b, _ := json.Marshal(v)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}
