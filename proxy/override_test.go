package proxy

import (
	"strings"
	"testing"
)

// TestMultipartScanCost: looking for a _method part reads the body once
// and allocates nothing per part, however many parts a form holds (an
// attacker review turned 20 KB of gzip into half a gigabyte of
// allocation with Go's multipart reader). AllocsPerRun counts every
// goroutine's allocations, so the scan runs many times over a form of
// 5,000 parts: one allocation per part would show as 5,000 a run, while
// a goroutine left behind by an earlier test has to allocate 200 times
// in the window to show as one (CI saw one with 3 runs of 50,000 parts).
func TestMultipartScanCost(t *testing.T) {
	body := []byte("_method\r\n" + strings.Repeat("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n", 5_000) + "--B--\r\n")
	ct := []byte("multipart/form-data; boundary=B")
	if multipartHasMethod(body, ct) {
		t.Fatal("a form without a _method part has one")
	}
	if n := testing.AllocsPerRun(200, func() { multipartHasMethod(body, ct) }); n > 0 {
		t.Errorf("multipartHasMethod over 5,000 parts allocates %v times, want none", n)
	}
}

// TestDispositionNamesMethod: the spellings of a part's name that some
// reader takes for _method, and some it does not.
func TestDispositionNamesMethod(t *testing.T) {
	for v, want := range map[string]bool{
		`: form-data; name="_method"`:                true,
		`: form-data; name=_method`:                  true,
		`: form-data; NAME = "_Method"`:              true,
		`: form-data; name="_method[]"`:              true,
		`: inline; name="_method"`:                   true,
		`: form-data; name="x"; name="_method"`:      true,
		`: form-data; name*=utf-8'en'%5fmethod`:      true,
		`: form-data; name*0=_m; name*1*=%65thod`:    true,
		`: form-data; name="\_method"`:               true,
		`: form-data; name="payment_method"`:         false,
		`: form-data; name="x"; filename="_method"`:  false,
		`: form-data; name="_methods"`:               false,
		`: form-data; name*0=_m; name*2=thod`:        false,
		`: form-data; filename*=utf-8''%5fmethod`:    false,
		`: form-data; name="_method"x; y`:            true, // the quoted part, for readers that stop there
		`: form-data; name="method"`:                 false,
		`: form-data; name*=utf-8''%5fmethod%zz`:     false,
		`: form-data; name*=%5Fmethod`:               true,
		`: form-data; name*99999999999999999999=_me`: false,
		`: form-data; name='_method'`:                true,
		`: form-data; name=_method x`:                true,
		`: form-data; x="a" name=_method`:            true,
		`: form-data; name=".method"`:                true,
		`: form-data; name="[_method]"`:              true,
		`: form-data; filename=x; name2=_method`:     false,
	} {
		if got := dispositionNamesMethod([]byte(v)); got != want {
			t.Errorf("dispositionNamesMethod(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestIndexFold(t *testing.T) {
	for _, tc := range []struct {
		b, s string
		want int
	}{
		{"", "method", -1},
		{"method", "method", 0},
		{"xMETHOD", "method", 1},
		{"mmmmMethod", "method", 4},
		{"MmMmethoD", "method", 3},
		{"metho", "method", -1},
		{"boundary=a; Boundary=b", "boundary", 0},
	} {
		if got := indexFold([]byte(tc.b), tc.s); got != tc.want {
			t.Errorf("indexFold(%q, %q) = %d, want %d", tc.b, tc.s, got, tc.want)
		}
	}
	if n := countFold([]byte("boundary=a; Boundary=b"), "boundary"); n != 2 {
		t.Errorf("countFold = %d, want 2", n)
	}
}
