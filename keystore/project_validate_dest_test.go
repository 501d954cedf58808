package keystore

import (
	"strings"
	"testing"
)

// TestDestinationWithCredentialsNotQuoted: a destination written with
// credentials is refused without quoting them back (the admin API's error
// may end in a terminal log or a CI job's output); any other bad entry is
// quoted, so the operator sees which one.
func TestDestinationWithCredentialsNotQuoted(t *testing.T) {
	for _, d := range []string{"https://svc:s3cretpw@api.example", "https://s3cretpw@api.example:8443", "http://u:s3cret/pw@host"} {
		_, err := normalizeDestinations([]string{d})
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "credentials") {
			t.Errorf("normalizeDestinations(%q) = %v, want it refused for its credentials, without quoting them", d, err)
		}
	}
	if _, err := normalizeDestinations([]string{"ftp://files.example"}); err == nil || !strings.Contains(err.Error(), `"ftp://files.example"`) {
		t.Errorf("normalizeDestinations(ftp) = %v, want the entry quoted", err)
	}
}
