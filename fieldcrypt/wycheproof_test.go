package fieldcrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// wycheproofFile holds the AES-GCM vectors of Project Wycheproof with a
// 256-bit key and a 96-bit IV (see its "source" field).
const wycheproofFile = "testdata/aes_gcm_256_96_test.json"

type wycheproofVector struct {
	TCID    int    `json:"tcId"`
	Comment string `json:"comment"`
	Key     string `json:"key"`
	IV      string `json:"iv"`
	AAD     string `json:"aad"`
	Msg     string `json:"msg"`
	CT      string `json:"ct"`
	Tag     string `json:"tag"`
	Result  string `json:"result"`
}

// TestWycheproofAESGCM runs every vector through seal and open, the wrapper
// that makes and reads token payloads.
func TestWycheproofAESGCM(t *testing.T) {
	data, err := os.ReadFile(wycheproofFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			KeySize int                `json:"keySize"`
			IVSize  int                `json:"ivSize"`
			Tests   []wycheproofVector `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range file.TestGroups {
		if g.KeySize != 256 || g.IVSize != 96 {
			t.Fatalf("group keySize %d ivSize %d, want only 256/96", g.KeySize, g.IVSize)
		}
		for _, v := range g.Tests {
			n++
			t.Run(fmt.Sprintf("tc%d", v.TCID), func(t *testing.T) { runWycheproof(t, v) })
		}
	}
	if n != file.NumberOfTests || n == 0 {
		t.Errorf("ran %d vectors, want numberOfTests = %d", n, file.NumberOfTests)
	}
}

func runWycheproof(t *testing.T, v wycheproofVector) {
	key, iv, aad, msg := unhex(t, v.Key), unhex(t, v.IV), unhex(t, v.AAD), unhex(t, v.Msg)
	ctTag := append(unhex(t, v.CT), unhex(t, v.Tag)...)
	aead := mustGCM(t, key)
	payload := append(bytes.Clone(iv), ctTag...)
	plain, err := open([]byte{}, aead, payload, aad)
	switch v.Result {
	case "valid":
		if err != nil || !bytes.Equal(plain, msg) {
			t.Errorf("open(tc%d) = %x, %v; want %x", v.TCID, plain, err, msg)
		}
		if got := seal(nil, aead, iv, msg, aad); !bytes.Equal(got, payload) {
			t.Errorf("seal(tc%d) = %x, want %x", v.TCID, got, payload)
		}
	case "invalid":
		if err != ErrDecryptFailed {
			t.Errorf("open(tc%d %q) = %x, %v; want ErrDecryptFailed", v.TCID, v.Comment, plain, err)
		}
	default:
		t.Fatalf("tc%d: result %q", v.TCID, v.Result)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
