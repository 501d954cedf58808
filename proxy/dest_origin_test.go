package proxy

import "testing"

// TestDestOrigin: the event log keeps an X-Qanapi-Destination's scheme,
// host and port, never its user information, path or query, and nothing
// of a value that is not a plain http(s) URL (from two security reviews:
// a refused destination's password was stored in the log; then a password
// cut at a '#', and a path after a backslash read as the host).
func TestDestOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://up.test/api/posts#frag", "https://up.test:443"},
		{" HTTP://Up.Test:8080/x?api_key=SECRET ", "http://up.test:8080"},
		{"http://[::1]:9000/x", "http://[::1]:9000"},
		{"http://svc:DEST-PASSWORD@127.0.0.1:19843/v1/users?api_key=SECRET", "(invalid)"},
		{"https://admin:p@ss@other.example/?token=SECRET", "(invalid)"},
		{"https://user:pa#SECRET@host/", "(invalid)"},
		{"https://user:pa?SECRET@host/", "(invalid)"},
		{`http://host\@SECRET`, "(invalid)"},
		{"javascript:SECRET", "(invalid)"},
		{"http://h;token=SECRET", "(invalid)"},
		{"https://h%3Ftoken=SECRET", "(invalid)"},
		{"up.test:8080/x?k=SECRET", "(invalid)"},
		{"https://" + string(make([]byte, 1000)), "(invalid)"},
		{"", ""},
	} {
		var buf [256]byte
		if got := string(destOrigin(buf[:0], []byte(tc.in))); got != tc.want {
			t.Errorf("destOrigin(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
