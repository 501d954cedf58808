package httpapi

import (
	"encoding/json"
	"testing"
)

// TestAppendErrorBodyMatchesEncodingJSON pins the hand-written envelope to
// what encoding/json makes of the same struct, byte for byte.
func TestAppendErrorBodyMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		"plain", `the body must be a JSON object with a "data" member`, "a value to decrypt is not a token (qanapi:…:$)",
		"<script>&", "tab\tnew\nline\r\x01\x1f", "bad \xff utf8", "line\u2028sep\u2029", `back\slash`, "",
	}
	for _, msg := range cases {
		var want struct {
			Error struct {
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		want.Error.Code, want.Error.Message, want.Error.RequestID = "some_code", msg, "req_1-"+msg
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendErrorBody(nil, "some_code", msg, []byte("req_1-"+msg))
		if string(got) != string(b)+"\n" {
			t.Errorf("AppendErrorBody(%q) = %s, want %s", msg, got, b)
		}
	}
}
