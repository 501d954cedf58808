package proxy

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestPreauthRefusalNoTiming: a key refused from the headers of a large
// body (ServerErrorHandler) is answered as the handler answers a refused
// key, header for header: without Server-Timing. The handler leaves timing
// out of every refused key's answer ("its answer is the same, header for
// header, whichever way the key was wrong"); this path put back the
// time the key check took, to the microsecond.
func TestPreauthRefusalNoTiming(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("")
	e.key(p.ID, keystore.KeyInput{})
	ref := e.do("POST", "/proxy/"+p.ID, `{"a":1}`, HeaderAuthorization, "qk_nope")
	if _, ok := ref.header[HeaderServerTiming]; ok {
		t.Fatalf("handler's 401 carries Server-Timing %q", ref.header[HeaderServerTiming])
	}
	for _, auth := range []string{"qk_nope", "qk_0000000000000_" + strings.Repeat("a", 38)} {
		c, err := e.ln.DialWithLocalAddr(rtClientAddr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, rtStatusLine("POST", "/proxy/"+p.ID)+"\r\nHost: sdproxy\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n"+
			HeaderAuthorization+": "+auth+"\r\n\r\n"+`{"a":"`+strings.Repeat("x", 4<<10))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp := fasthttp.AcquireResponse()
		if err := resp.Read(bufio.NewReader(c)); err != nil {
			t.Fatal(err)
		}
		got := rtCopyResponse(resp)
		fasthttp.ReleaseResponse(resp)
		c.Close()
		rtErrorShape(t, "refused before the body", got, 401, "unauthorized")
		if v, ok := got.header[HeaderServerTiming]; ok {
			t.Errorf("401 of key %q refused before the body carries Server-Timing %q, want none (as the handler's 401)", auth, v)
		}
	}
}
