package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

func TestFmtBudget(t *testing.T) {
	left := uint64(9812)
	cases := []struct {
		k    wire.Key
		want string
	}{
		{wire.Key{}, "-"},
		{wire.Key{DecryptBudget: &wire.Budget{Values: "10000", Per: "24h"}, DecryptBudgetRemaining: &left}, "9812/10000 per 24h"},
		{wire.Key{DecryptBudget: &wire.Budget{Values: "10000", Per: "24h"}}, "?/10000 per 24h"},
	}
	for _, tc := range cases {
		if got := fmtBudget(tc.k); got != tc.want {
			t.Errorf("fmtBudget(%+v) = %q, want %q", tc.k, got, tc.want)
		}
	}
}

func TestBudgetBody(t *testing.T) {
	b, err := budgetBody("10000/1440m")
	if raw, _ := json.Marshal(b); err != nil || string(raw) != `{"values":10000,"per":"24h"}` {
		t.Errorf(`budgetBody("10000/1440m") = %s, %v, want {"values":10000,"per":"24h"}`, raw, err)
	}
	for in, field := range map[string]string{"10000": "decrypt_budget", "0/24h": "decrypt_budget.values", "5/10s": "decrypt_budget.per"} {
		if _, err := budgetBody(in); err == nil || !strings.Contains(err.Error(), "--decrypt-budget: "+field) {
			t.Errorf("budgetBody(%q) = %v, want an error naming %s", in, err, field)
		}
	}
}
