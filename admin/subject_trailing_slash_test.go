package admin

import (
	"errors"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestSubjectTrailingSlashErasesAnother: the admin API takes a "/" of a
// subject id sent as is (docs/admin-api.md), but cut a trailing one: a
// DELETE of ".../subjects/tenant/user-42/" erased the subject
// "tenant/user-42" (another person, irreversibly) and left every token of
// "tenant/user-42/" readable, answering erased: true. A path that ends in
// a "/" is ambiguous (the id's own, or a client's habit): it is refused,
// and the id's trailing "/" is sent as %2F.
func TestSubjectTrailingSlashErasesAnother(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Slash"}`)
	kr, err := e.store.Keyring(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]byte{}
	for _, id := range []string{"tenant/user-42", "tenant/user-42/"} {
		ref, err := kr.SubjectRef([]byte(id))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := kr.SubjectSealKey(ref[:], 1); err != nil {
			t.Fatal(err)
		}
		refs[id] = ref[:]
	}
	base := "/admin/v1/projects/" + p.ID + "/subjects/"
	for _, path := range []string{base + "tenant/user-42/", base + "tenant%2Fuser-42/"} {
		r := e.rawHTTP("DELETE "+path, "DELETE "+path+" HTTP/1.1\r\nHost: admin.test\r\nAuthorization: Bearer "+admToken+"\r\nConnection: close\r\n\r\n")
		if _, err := kr.SubjectOpenKey(1, refs["tenant/user-42"]); errors.Is(err, keystore.ErrSubjectErased) {
			t.Fatalf("DELETE %s = %d %s: erased the subject tenant/user-42, another id than the one sent", path, r.status, r.body)
		}
		wantError(t, r, "DELETE "+path, 400, "invalid_request")
	}
	// Sent with its trailing "/" encoded, the id is erased, and only it.
	path := base + "tenant%2Fuser-42%2F"
	if r := e.rawHTTP("DELETE "+path, "DELETE "+path+" HTTP/1.1\r\nHost: admin.test\r\nAuthorization: Bearer "+admToken+"\r\nConnection: close\r\n\r\n"); r.status != 200 {
		t.Fatalf("DELETE %s = %d %s, want 200", path, r.status, r.body)
	}
	if _, err := kr.SubjectOpenKey(1, refs["tenant/user-42/"]); !errors.Is(err, keystore.ErrSubjectErased) {
		t.Errorf("after DELETE …/tenant%%2Fuser-42%%2F, tenant/user-42/ opens: %v, want ErrSubjectErased", err)
	}
	if _, err := kr.SubjectOpenKey(1, refs["tenant/user-42"]); err != nil {
		t.Errorf("tenant/user-42 after erasing tenant/user-42/: %v, want it to open", err)
	}
}
