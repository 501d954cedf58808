package routematch

import "testing"

// TestHeadMatchesGetRoute: a route for GET covers HEAD (any letter
// case), first by rank as any match; a route for other methods does not.
func TestHeadMatchesGetRoute(t *testing.T) {
	var tr Trie
	tr.Add(0, "/orders/*", []string{"POST"})
	tr.Add(1, "/people/*", []string{"GET"})
	tr.Add(2, "/people/*", []string{"HEAD"})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"HEAD", "/people/1", 1}, {"head", "/people/1", 1}, {"GET", "/people/1", 1},
		{"HEAD", "/orders/1", -1}, {"PUT", "/people/1", -1},
	} {
		if got := tr.Match([]byte(tc.method), []byte(tc.path)); got != tc.want {
			t.Errorf("Match(%s %s) = %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
}
