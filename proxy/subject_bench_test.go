package proxy

import (
	"testing"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/keystore"
)

// BenchmarkSubjectSealValue measures one value sealed with the store's
// keyring, plainly and for a subject whose reference and key are cached:
// the difference is what a subject costs per seal (target ≤ 1 µs).
func BenchmarkSubjectSealValue(b *testing.B) {
	e := newDPEnv(b)
	p := e.project(keystore.ProjectInput{})
	kr, err := e.store.Keyring(p.ID)
	if err != nil {
		b.Fatal(err)
	}
	ref, err := kr.SubjectRef([]byte("user-8812@example.com"))
	if err != nil {
		b.Fatal(err)
	}
	value := []byte(`"123-45-6789"`)
	for _, subject := range []bool{false, true} {
		name := "plain"
		params := fieldcrypt.Params{ProjectID: p.ID, Keys: kr}
		if subject {
			name = "subject"
		}
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				if subject { // as setSubject does per request
					r, _ := kr.SubjectRef([]byte("user-8812@example.com"))
					ref = r
					params.SubjectRef = ref[:]
				}
				if _, err := fieldcrypt.SealValue(dst[:0], value, &params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
