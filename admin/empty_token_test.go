package admin

import "testing"

// TestEmptyTokenLetsNoOneIn: an admin API built without a token (or with
// only spaces, which New trims away) refuses every request, "Bearer "
// with nothing after it included, or with only white space that the
// header parser leaves (U+00A0, which the comparison trims). serve never
// starts without a token of at least 32 characters; this is the
// handler's own guard.
func TestEmptyTokenLetsNoOneIn(t *testing.T) {
	for _, token := range []string{"", "   "} {
		e := newAdmEnvWith(t, func(o *Options) { o.Token = token })
		for _, auth := range []string{"Bearer ", "Bearer", "bearer  ", "Bearer " + token, "Bearer \u00a0", "Bearer \u0085"} {
			if r := e.rawAuth("GET", "/admin/v1/projects", "", auth); r.status != 401 {
				t.Errorf("token %q, Authorization %q: %d %s, want 401", token, auth, r.status, r)
			}
		}
	}
}
