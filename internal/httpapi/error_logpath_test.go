package httpapi

import "testing"

func TestLogPathCutsSubjects(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/v1/projects/prj_1/subjects/ann%40example.com": "/admin/v1/projects/prj_1/subjects/…",
		"/admin/v1/projects/prj_1/subjects/":                  "/admin/v1/projects/prj_1/subjects/…",
		"/admin/v1/projects/prj_1/keys":                       "/admin/v1/projects/prj_1/keys",
		"/proxy/prj_1/users/42":                               "/proxy/prj_1/users/42",
	} {
		if got := LogPath([]byte(in)); got != want {
			t.Errorf("LogPath(%q) = %q, want %q", in, got, want)
		}
	}
}
