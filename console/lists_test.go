package console

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestListsMatchGo: the console's lists of event types and environments
// are the Go constants, in the same order, so a type added to the event
// log cannot be missing from the filter.
func TestListsMatchGo(t *testing.T) {
	cases := []struct {
		file, name string
		want       []string
	}{
		{"static/js/events.js", "EVENT_TYPES", events.Types},
		{"static/js/projectform.js", "ENVIRONMENTS", keystore.Environments},
	}
	for _, tc := range cases {
		src, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?s)export const ` + tc.name + ` = \[(.*?)\];`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("%s: no export const %s = [...]", tc.file, tc.name)
		}
		var got []string
		for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllSubmatch(m[1], -1) {
			got = append(got, string(q[1]))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %s = %q, want the Go list %q", tc.file, tc.name, got, tc.want)
		}
	}
}
