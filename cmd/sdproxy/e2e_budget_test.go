package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2EDecryptBudget: a budget set with the CLI holds across a restart
// of the real binary (part spent, stop, start, the rest spent, then 429),
// shows in key list and on /metrics, records key.budget_exhausted once,
// and can be removed with key update.
func TestE2EDecryptBudget(t *testing.T) {
	dataDir := t.TempDir()
	master := e2e.NewMasterKey(t)
	env := serveEnv(t, dataDir, master)
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Rationed", "-o", "json")), &p)
	var k struct {
		ID  string
		Key string
	}
	json.Unmarshal([]byte(cli(t, cl, "key", "create", "--project", p.ID, "--decrypt-budget", "5/24h", "-o", "json")), &k)
	data := "http://" + env[config.EnvListen]
	cl["SDPROXY_API_KEY"], cl["SDPROXY_DATA_ADDR"] = k.Key, data
	token := strings.TrimSpace(cli(t, cl, "encrypt", "--text", "4111-1111"))
	decrypt := func() (int, []byte) {
		return post(t, data+"/api-v1/v1/decrypt", `{"data":`+token+`}`, "X-Qanapi-Authorization", k.Key)
	}
	for i := range 3 {
		if status, body := decrypt(); status != 200 {
			t.Fatalf("decrypt #%d = %d %s, want 200", i+1, status, body)
		}
	}
	if out := cli(t, cl, "key", "list", "--project", p.ID); !strings.Contains(out, "2/5 per 24h") || !strings.Contains(out, "BUDGET") {
		t.Errorf("key list = %s, want a BUDGET column with 2/5 per 24h", out)
	}

	srv.Stop(t)
	srv = e2e.Start(t, env)
	for i := range 2 {
		if status, body := decrypt(); status != 200 {
			t.Fatalf("after restart, decrypt #%d = %d %s, want 200 (2 left)", i+4, status, body)
		}
	}
	status, body := decrypt()
	if status != 429 || !strings.Contains(string(body), `"decrypt_budget_exhausted"`) {
		t.Fatalf("decrypt #6 = %d %s, want 429 decrypt_budget_exhausted: the count survived the restart", status, body)
	}
	if out := cli(t, cl, "encrypt", "--text", "still works"); !strings.HasPrefix(strings.TrimSpace(out), `"qanapi:`) {
		t.Errorf("encrypt with the budget spent = %s, want a token", out)
	}
	decrypt() // a second refusal: still one event
	metrics := httpGet(t, "http://"+srv.AdminAddr+"/metrics")
	if want := `sdproxy_decrypt_budget_remaining{key="` + k.ID + `",project="` + p.ID + `"} 0`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	var page struct {
		Items []struct {
			Type    string
			Details map[string]string
		}
	}
	for deadline := time.Now().Add(10 * time.Second); len(page.Items) == 0 && time.Now().Before(deadline); {
		json.Unmarshal([]byte(cli(t, cl, "events", "--project", p.ID, "--type", "key.budget_exhausted", "-o", "json")), &page)
		time.Sleep(100 * time.Millisecond) // events are written in batches
	}
	evs := page.Items
	if len(evs) != 1 || evs[0].Details["values"] != "5" || evs[0].Details["per"] != "24h" {
		t.Errorf("key.budget_exhausted events = %+v, want one with values 5 per 24h", evs)
	}
	cli(t, cl, "key", "update", "--project", p.ID, k.ID, "--no-decrypt-budget")
	if status, body := decrypt(); status != 200 {
		t.Errorf("decrypt after the budget was removed = %d %s, want 200", status, body)
	}
}
