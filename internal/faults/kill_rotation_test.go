//go:build faults

package faults

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	rotationKills = 20
	rotateAfter   = 1 << 16 // datakey_rotate_after: one reservation block per version
	sealsPerReq   = 4096
)

// sealed is one answered encrypt: the values sent and the tokens got.
type sealed struct {
	from   int
	tokens []string
}

// TestKillAtSealThreshold: with datakey_rotate_after at 65,536, two
// clients seal 4,096 values per request; when the current version is
// within two requests of the threshold, serve is killed with SIGKILL a
// random 0–20 ms later, rotationKills times. After each restart every
// token answered before the kill must decrypt to its value, and no
// version may have sealed more than the threshold over all runs (a
// reservation used twice would show as more), nor any nonce appear twice.
func TestKillAtSealThreshold(t *testing.T) {
	n := newNode(t, t.TempDir(), baseConfig+"datakey_rotate_after: "+strconv.Itoa(rotateAfter)+"\n")
	n.start(t)
	project := n.createProject(t, "")
	key := n.createKey(t, project).Key
	perVersion := map[string]int{}
	nonces := map[[12]byte]struct{}{}
	var dupNonces, undecryptable, sealedTotal int
	next := 0
	var versionsSeen []string
	for round := range rotationKills {
		if round > 0 {
			n.start(t)
		}
		var mu sync.Mutex
		var answered []sealed
		var near atomic.Bool
		stop := make(chan struct{})
		var wg sync.WaitGroup
		c := client(2)
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					from := next
					next += sealsPerReq
					mu.Unlock()
					st, b, err := post(c, n.dataURL+"/api-v1/v1/encrypt", sealBody(from), map[string]string{"X-Qanapi-Authorization": key})
					if err != nil || st != 200 {
						continue // killed: not answered
					}
					var out struct{ Data struct{ A []string } }
					if json.Unmarshal(b, &out) != nil || len(out.Data.A) != sealsPerReq {
						t.Errorf("encrypt answer %.200s: want %d tokens", b, sealsPerReq)
						continue
					}
					mu.Lock()
					answered = append(answered, sealed{from, out.Data.A})
					v := tokenVersion(out.Data.A[0])
					perVersion[v] += sealsPerReq
					if perVersion[v] >= rotateAfter-2*sealsPerReq {
						near.Store(true)
					}
					mu.Unlock()
				}
			})
		}
		deadline := time.Now().Add(30 * time.Second)
		for !near.Load() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if !near.Load() {
			t.Fatalf("round %d: the seal threshold was not approached within 30s", round)
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		n.Kill()
		close(stop)
		wg.Wait()
		n.start(t)
		c = client(2)
		for _, s := range answered {
			for i, tok := range s.tokens {
				v := tokenVersion(tok)
				if len(versionsSeen) == 0 || versionsSeen[len(versionsSeen)-1] != v {
					versionsSeen = append(versionsSeen, v)
				}
				raw, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndex(tok[:len(tok)-2], ":")+1 : len(tok)-2])
				if err != nil || len(raw) < 12 {
					t.Fatalf("token %q: payload %v", tok, err)
				}
				nonce := [12]byte(raw[:12])
				if _, dup := nonces[nonce]; dup {
					dupNonces++
				}
				nonces[nonce] = struct{}{}
				_ = i
			}
			body, _ := json.Marshal(map[string]any{"data": map[string]any{"a": s.tokens}, "fields": []string{"a"}})
			st, b, err := post(c, n.dataURL+"/api-v1/v1/decrypt", body, map[string]string{"X-Qanapi-Authorization": key})
			var out struct{ Data struct{ A []int } }
			if err != nil || st != 200 || json.Unmarshal(b, &out) != nil || len(out.Data.A) != sealsPerReq {
				undecryptable += sealsPerReq
				t.Errorf("round %d: decrypt of tokens sealed before the kill = %d %.300s %v", round, st, b, err)
				continue
			}
			for i, v := range out.Data.A {
				if v != s.from+i {
					undecryptable++
				}
			}
			sealedTotal += sealsPerReq
		}
		n.Kill()
	}
	over := 0
	for v, count := range perVersion {
		if count > rotateAfter {
			over++
			t.Errorf("version %s sealed %d answered values over all runs, more than datakey_rotate_after %d: a reservation was used twice", v, count, rotateAfter)
		}
	}
	t.Logf("%d kills at the seal threshold: %d tokens answered before the kills, %d did not decrypt to their value; %d versions used; versions over the threshold %d; duplicate nonces %d",
		rotationKills, sealedTotal, undecryptable, len(perVersion), over, dupNonces)
	if undecryptable != 0 || dupNonces != 0 {
		t.Errorf("tokens that did not decrypt = %d, duplicate nonces = %d, want 0 and 0", undecryptable, dupNonces)
	}
}

// sealBody is an encrypt body of sealsPerReq numbers from, from+1, ….
func sealBody(from int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"fields":["a"],"data":{"a":[`)
	for i := range sealsPerReq {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, from+i)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

// tokenVersion is the "v<n>" part of a token.
func tokenVersion(tok string) string {
	parts := strings.Split(tok, ":")
	if len(parts) < 4 {
		return "?"
	}
	return strings.TrimSuffix(parts[2], "f")
}
