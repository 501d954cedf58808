package keystore

import (
	"testing"
	"time"
)

// TestDeleteProjectDeletesBudgetRecords: deleting a project deletes the
// decrypt-budget records of its keys (budgets/<key id>) with its keys,
// data keys, routes, subjects and classifications; left behind, they would
// grow the store with every budgeted key ever used.
func TestDeleteProjectDeletesBudgetRecords(t *testing.T) {
	ep := startEtcd(t)
	c := newClock()
	s := openEtcdTestStore(t, ep, c)
	p := mustProject(t, s, "p")
	k := mustKey(t, s, p.ID, KeyInput{DecryptBudget: &Budget{Values: 100, Per: time.Hour}})
	pr, err := s.Authenticate([]byte(p.ID), []byte(k.Secret))
	if err != nil || pr.Budget == nil {
		t.Fatalf("Authenticate = %+v, %v", pr, err)
	}
	if err := pr.Budget.Spend(c.Now(), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(p.ID); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := s.kv.View(func(tx kvTx) error {
		return tx.Bucket(bucketBudgets).ForEach(func(k, _ []byte) error { left = append(left, string(k)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("after DeleteProject, budget records of its keys remain: %v", left)
	}
}
