package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2ESubjectErase: through the real binary, values sealed with
// X-Qanapi-Subject open until `sdproxy subject erase`; then they are 422
// subject_erased (proxy and direct API) while another subject's still
// open; `subject show` reports the state and count; the event log has
// subject.erased; and the subject id is nowhere in the data directory.
func TestE2ESubjectErase(t *testing.T) {
	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Shred", "-o", "json")), &p)
	var k struct{ Key string }
	json.Unmarshal([]byte(cli(t, cl, "key", "create", "--project", p.ID, "-o", "json")), &k)
	data := "http://" + env[config.EnvListen]
	const ann, bob = "e2e-subject-ann@example.com", "e2e-subject-bob"
	seal := func(subject, body string) string {
		status, out := post(t, data+"/proxy/"+p.ID, body, "X-Qanapi-Authorization", k.Key, "X-Qanapi-Fields", "ssn", "X-Qanapi-Subject", subject)
		if status != 200 {
			t.Fatalf("seal for a subject = %d %s", status, out)
		}
		return string(out)
	}
	open := func(body string) (int, []byte) {
		return post(t, data+"/proxy/"+p.ID, body, "X-Qanapi-Authorization", k.Key, "X-Qanapi-Mode", "decrypt", "X-Qanapi-Fields", "ssn")
	}
	annDoc, bobDoc := seal(ann, `{"ssn":"123-45-6789"}`), seal(bob, `{"ssn":"987-65-4321"}`)
	if status, out := open(annDoc); status != 200 || string(out) != `{"ssn":"123-45-6789"}` {
		t.Fatalf("decrypt before erasure = %d %s", status, out)
	}
	if out := cli(t, cl, "subject", "show", "--project", p.ID, ann); !strings.Contains(out, "active") {
		t.Errorf("subject show = %s, want active", out)
	}
	if out := cli(t, cl, "subject", "erase", "--project", p.ID, ann); !strings.Contains(out, "Subject erased") {
		t.Errorf("subject erase = %s", out)
	}
	if status, out := open(annDoc); status != 422 || !strings.Contains(string(out), `"subject_erased"`) {
		t.Errorf("decrypt after erasure = %d %s, want 422 subject_erased", status, out)
	}
	token := annDoc[strings.Index(annDoc, `"qanapi:`) : strings.LastIndex(annDoc, `"`)+1]
	if status, out := post(t, data+"/api-v1/v1/decrypt", `{"data":`+token+`}`, "X-Qanapi-Authorization", k.Key); status != 422 || !strings.Contains(string(out), `"subject_erased"`) {
		t.Errorf("direct decrypt after erasure = %d %s, want 422 subject_erased", status, out)
	}
	if status, out := open(bobDoc); status != 200 {
		t.Errorf("another subject after erasure = %d %s, want 200", status, out)
	}
	var show struct{ State string }
	json.Unmarshal([]byte(cli(t, cl, "subject", "show", "--project", p.ID, ann, "-o", "json")), &show)
	if show.State != "erased" {
		t.Errorf("subject show after erase: state %q, want erased", show.State)
	}
	var page struct {
		Items []struct{ Details map[string]string }
	}
	for deadline := time.Now().Add(10 * time.Second); len(page.Items) == 0 && time.Now().Before(deadline); {
		json.Unmarshal([]byte(cli(t, cl, "events", "--project", p.ID, "--type", "subject.erased", "-o", "json")), &page)
		time.Sleep(100 * time.Millisecond) // events are written in batches
	}
	if len(page.Items) != 1 || page.Items[0].Details["subject"] == "" {
		t.Fatalf("subject.erased events = %+v, want one with the reference", page.Items)
	}
	ref := page.Items[0].Details["subject"]
	if !strings.Contains(annDoc, "s"+ref+":") {
		t.Errorf("subject.erased reference %s is not the one in ann's token %s", ref, annDoc)
	}
	var reqs struct{ Items []struct{ Subject string } }
	json.Unmarshal([]byte(cli(t, cl, "events", "--project", p.ID, "--type", "request", "-o", "json")), &reqs)
	n := 0
	for _, ev := range reqs.Items {
		if ev.Subject == ref {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no request event carries the subject reference %s: %+v", ref, reqs.Items)
	}
	// The CLI seals for a subject; erased, it is refused.
	cl["SDPROXY_API_KEY"], cl["SDPROXY_DATA_ADDR"] = k.Key, data
	if out := cli(t, cl, "encrypt", "--text", "x", "--subject", bob); !strings.Contains(out, subjectRefOf(t, bobDoc)) {
		t.Errorf("sdproxy encrypt --subject bob = %s, want a token of bob", out)
	}
	if _, _, code := e2e.Run(t, 30*time.Second, cl, "encrypt", "--text", "x", "--subject", ann); code == 0 {
		t.Error("sdproxy encrypt --subject (erased) exit 0, want a failure")
	}
	// Subject ids of dots, or with dot segments, are ids like any other:
	// the CLI sends them percent-encoded, and the project stays.
	for _, odd := range []string{"..", ".", "x/../../y"} {
		if out := cli(t, cl, "subject", "erase", "--project", p.ID, odd); !strings.Contains(out, "Subject erased") {
			t.Errorf("sdproxy subject erase %q = %q, want it erased", odd, out)
		}
		var got struct {
			State     string
			ProjectID string `json:"project_id"`
		}
		json.Unmarshal([]byte(cli(t, cl, "subject", "show", "--project", p.ID, odd, "-o", "json")), &got)
		if got.State != "erased" || got.ProjectID != p.ID {
			t.Errorf("sdproxy subject show %q after erase = %+v, want erased in %s", odd, got, p.ID)
		}
	}
	if out := cli(t, cl, "project", "show", p.ID); !strings.Contains(out, p.ID) {
		t.Errorf("project show after erasing subject \"..\" = %q, want the project", out)
	}
	// A route takes the subject from the body.
	cli(t, cl, "route", "create", "--project", p.ID, "--path", "/users/**", "--request-mode", "encrypt",
		"--request-fields", "ssn", "--subject-field", "user.id")
	if out := cli(t, cl, "route", "list", "--project", p.ID); !strings.Contains(out, "subject=user.id") {
		t.Errorf("route list = %s, want subject=user.id", out)
	}
	status, out := post(t, data+"/proxy/"+p.ID+"/users", `{"user":{"id":"`+bob+`"},"ssn":"1"}`, "X-Qanapi-Authorization", k.Key)
	if status != 200 || !strings.Contains(string(out), `"id":"`+bob+`"`) || !strings.Contains(bobDoc, subjectRefOf(t, string(out))) {
		t.Errorf("route seal = %d %s, want ssn sealed for bob (as %s)", status, out, bobDoc)
	}
	if status, out := post(t, data+"/proxy/"+p.ID+"/users", `{"user":{"id":"`+ann+`"},"ssn":"1"}`, "X-Qanapi-Authorization", k.Key); status != 422 {
		t.Errorf("route seal for erased ann = %d %s, want 422", status, out)
	}
	srv.Stop(t)
	filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, id := range []string{ann, bob} {
			if strings.Contains(string(b), id) {
				t.Errorf("%s holds the subject id %q", path, id)
			}
		}
		return nil
	})
}

// subjectRefOf returns "s<ref>:" of the first subject token in s.
func subjectRefOf(t *testing.T, s string) string {
	t.Helper()
	m := regexp.MustCompile(`:v[0-9]+f?(s[A-Za-z0-9_-]{22}:)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no subject token in %s", s)
	}
	return m[1]
}
