package proxy

import "testing"

// TestDestOrigin: the event log keeps an X-Qanapi-Destination's scheme and
// host, never its user information, path or query (from a security
// review: a refused destination's password was stored in the log).
func TestDestOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://svc:DEST-PASSWORD@127.0.0.1:19843/v1/users?api_key=SECRET", "http://127.0.0.1:19843"},
		{"https://admin:p@ss@other.example/?token=SECRET", "https://other.example"},
		{" https://up.test/api/posts#frag ", "https://up.test"},
		{"https://up.test?api_key=SECRET", "https://up.test"},
		{"up.test:8080/x?k=SECRET", "up.test:8080"},
		{"", ""},
	} {
		var buf [256]byte
		if got := string(destOrigin(buf[:0], []byte(tc.in))); got != tc.want {
			t.Errorf("destOrigin(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := "https://" + string(make([]byte, 1000))
	var buf [256]byte
	if got := destOrigin(buf[:0], []byte(long)); len(got) > len(buf) {
		t.Errorf("destOrigin of a 1 KB value = %d bytes, want at most %d", len(got), len(buf))
	}
}
