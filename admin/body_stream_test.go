package admin

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestAdminLargeBodiesWithTheToken: bodies past UnauthBodyBytes, read by
// the handler only after the token, arrive whole — by Content-Length and
// chunked, up to MaxBodyBytes — and one past MaxBodyBytes is 413
// body_too_large whichever way it is sent.
func TestAdminLargeBodiesWithTheToken(t *testing.T) {
	e := newAdmEnv(t)
	head := "POST /admin/v1/projects HTTP/1.1\r\nHost: admin.test\r\nAuthorization: Bearer " + admToken + "\r\nContent-Type: application/json\r\n"
	sized := func(body string) string {
		return head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
	}
	chunked := func(body string) string {
		var b strings.Builder
		b.WriteString(head + "Transfer-Encoding: chunked\r\n\r\n")
		for len(body) > 0 {
			n := min(len(body), 3000)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	project := func(name string, size int) string {
		body := `{"name":"` + name + `"`
		return body + strings.Repeat(" ", size-len(body)-1) + "}"
	}
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"64 KiB by Content-Length", sized(project("Sized", 64<<10)), 201},
		{"64 KiB chunked", chunked(project("Chunked", 64<<10)), 201},
		{"exactly MaxBodyBytes", sized(project("Max", MaxBodyBytes)), 201},
		{"chunked, exactly MaxBodyBytes", chunked(project("MaxChunked", MaxBodyBytes)), 201},
		{"a byte past MaxBodyBytes", sized(project("Over", MaxBodyBytes+1)), 413},
		{"chunked, a byte past MaxBodyBytes", chunked(project("OverChunked", MaxBodyBytes+1)), 413},
	} {
		r := e.rawHTTP(tc.name, tc.request)
		if r.status != tc.status {
			t.Errorf("%s = %d %s, want %d", tc.name, r.status, r.body, tc.status)
			continue
		}
		if tc.status == 413 {
			wantError(t, r, tc.name, 413, "body_too_large")
		}
	}
	var list struct{ Items []admProject }
	admDecode(t, e.callOK("GET", "/admin/v1/projects", "", 200).body, &list)
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if got := strings.Join(names, ","); got != "Chunked,Max,MaxChunked,Sized" {
		t.Errorf("projects = %s, want the four within the limit and no other", got)
	}
}
