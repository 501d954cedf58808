//go:build faults

package faults

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const (
	fuzzBodies = 100_000
	secretMark = "S3CR3T" // only values of named fields carry it
)

// fuzzNames are the keys bodies are made of; "ssn" and "SSN" make case
// variants, "a.b" a key with a dot.
var fuzzNames = []string{"a", "b", "c", "ssn", "SSN", "email", "a.b", "items"}

// fuzzCase is a random body and a field list, built so that every value
// carrying secretMark is certainly named by the list.
type fuzzCase struct {
	body   []byte
	fields string
}

// newFuzzCase draws 1–3 field paths of 1–3 segments (a segment may be
// "*"), then a random document of depth ≤ 4 in which the values at those
// paths (and everything inside them, and each element of an array there)
// carry secretMark; everything else is public. One body in ten is broken
// on purpose: cut short, a duplicate key, or junk appended.
func newFuzzCase(r *rand.Rand, id int) fuzzCase {
	var paths [][]string
	var names []string
	for range 1 + r.IntN(3) {
		var p []string
		for range 1 + r.IntN(3) {
			if r.IntN(6) == 0 {
				p = append(p, "*")
			} else {
				p = append(p, fuzzNames[r.IntN(len(fuzzNames))])
			}
		}
		paths = append(paths, p)
		esc := make([]string, len(p))
		for i, s := range p {
			esc[i] = strings.ReplaceAll(s, ".", `\.`)
		}
		names = append(names, strings.Join(esc, "."))
	}
	var b bytes.Buffer
	g := &gen{r: r, id: id, paths: paths, out: &b}
	g.object(nil, 0)
	body := b.Bytes()
	switch r.IntN(10) {
	case 0:
		body = body[:r.IntN(len(body)+1)]
	case 1:
		body = append([]byte(`{"ssn":"`+secretMark+`-dup","ssn":1,`), body[1:]...)
		names = append(names, "ssn")
	case 2:
		body = append(body, "}{"...)
	}
	return fuzzCase{body: body, fields: strings.Join(names, ", ")}
}

type gen struct {
	r     *rand.Rand
	id    int
	n     int
	paths [][]string
	out   *bytes.Buffer
}

// named reports whether path is one of the field paths (or below one).
func (g *gen) named(path []string) bool {
	for _, p := range g.paths {
		if len(p) > len(path) {
			continue
		}
		ok := true
		for i, s := range p {
			if s != "*" && s != path[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (g *gen) object(path []string, depth int) {
	g.out.WriteByte('{')
	seen := map[string]bool{}
	for i := range g.r.IntN(5) {
		k := fuzzNames[g.r.IntN(len(fuzzNames))]
		if seen[k] {
			continue
		}
		seen[k] = true
		if i > 0 && g.out.Bytes()[g.out.Len()-1] != '{' {
			g.out.WriteByte(',')
		}
		fmt.Fprintf(g.out, "%q:", k)
		g.value(append(path[:len(path):len(path)], k), depth+1, false)
	}
	g.out.WriteByte('}')
}

// value writes a value at path; inArray marks an array element, whose
// path is its array's (elements of a named array are named).
func (g *gen) value(path []string, depth int, inArray bool) {
	// Arrays hold scalars only, so that whether a field path reaches
	// into an array's objects never matters.
	secret := g.named(path)
	g.n++
	switch c := g.r.IntN(6); {
	case c == 0 && depth < 4 && !inArray:
		g.object(path, depth)
	case c == 1 && depth < 4 && !inArray:
		g.out.WriteByte('[')
		for i := range g.r.IntN(4) {
			if i > 0 {
				g.out.WriteByte(',')
			}
			g.value(path, depth+1, true)
		}
		g.out.WriteByte(']')
	case c == 2:
		if secret {
			fmt.Fprintf(g.out, `"%s-%d-%d"`, secretMark, g.id, g.n)
		} else {
			fmt.Fprintf(g.out, "%d", g.r.IntN(1e6))
		}
	default:
		if secret {
			fmt.Fprintf(g.out, `"%s-%d-%d \u00e9\"x"`, secretMark, g.id, g.n)
		} else {
			fmt.Fprintf(g.out, `"pub-%d"`, g.n)
		}
	}
}

// TestFuzzedBodies: 100,000 random bodies with random field lists go
// through the proxy to a recording upstream. No value of a named field
// may reach the upstream in plaintext, and serve must not panic.
func TestFuzzedBodies(t *testing.T) {
	var received, leaked atomic.Int64
	var leakOnce sync.Once
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received.Add(1)
		if bytes.Contains(b, []byte(secretMark)) {
			leaked.Add(1)
			leakOnce.Do(func() {
				t.Errorf("the upstream received a named field's plaintext (fields %q): %.300s", r.Header.Get("X-Fields-Sent"), b)
			})
		}
		w.Write([]byte(`{}`))
	})}
	go up.Serve(ln)
	t.Cleanup(func() { up.Close() })

	n := startNode(t, baseConfig)
	project := n.createProject(t, "http://"+ln.Addr().String())
	key := n.createKey(t, project).Key
	var next, withSecret atomic.Int64
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 16))
			c := client(1)
			local := map[int]int{}
			for {
				i := int(next.Add(1))
				if i > fuzzBodies {
					break
				}
				fc := newFuzzCase(r, i)
				st, _, err := post(c, n.dataURL+"/proxy/"+project+"/fuzz", fc.body, map[string]string{
					"X-Qanapi-Authorization": key, "X-Qanapi-Fields": fc.fields, "Content-Type": "application/json", "X-Fields-Sent": fc.fields})
				if err != nil {
					st = -1
				}
				local[st]++
				if st == 200 && bytes.Contains(fc.body, []byte(secretMark)) {
					withSecret.Add(1)
				}
			}
			mu.Lock()
			for k, v := range local {
				statuses[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("%d fuzzed bodies: answers %v; %d reached the upstream (%d of them sent with named-field values to seal), %d with a named field's plaintext", fuzzBodies, statuses, received.Load(), withSecret.Load(), leaked.Load())
	if leaked.Load() != 0 {
		t.Errorf("bodies with a named field's plaintext at the upstream = %d, want 0", leaked.Load())
	}
	if statuses[500]+statuses[-1] != 0 {
		t.Errorf("answers 500 = %d, transport errors = %d, want 0", statuses[500], statuses[-1])
	}
	n.noPanic(t)
}
