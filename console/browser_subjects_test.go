package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestSubjectsInBrowser seals a value for a data subject through the data
// listener, looks the subject up in the Subjects tab, erases it through
// the confirmation (which wants the id typed again), sees it erased, and
// checks that the token no longer opens: 422 subject_erased. The subject
// id never reaches the address, storage or the page's markup.
func TestSubjectsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test builds and runs sdproxy and Chromium")
	}
	chromium := chromiumPath(t)
	srv := startSdproxy(t)
	shots := screenshotMode()
	p := newPage(t, chromium, shots.width, shots.height, shots.mobile)
	defer p.checkProblems()

	const subject = "tenant/ann.42 x" // a "/", a dot and a space: one percent-encoded segment
	project, key := srv.projectWithKey(t, "Subjects")
	status, body := srv.directCall(t, "/api-v1/v1/encrypt", key, subject, `{"data":"ssn 123-45-6789"}`)
	var sealed struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &sealed); status != 200 || err != nil || !strings.HasPrefix(sealed.Data, "qanapi:") {
		t.Fatalf("encrypt for subject %q = %d %s, want 200 with a token", subject, status, body)
	}
	tokenJSON := `{"data":` + jsString(sealed.Data) + `}`
	if status, body := srv.directCall(t, "/api-v1/v1/decrypt", key, "", tokenJSON); status != 200 {
		t.Fatalf("decrypt before erasure = %d %s, want 200", status, body)
	}

	p.do("opening the console", chromedp.Navigate(srv.adminURL+"/ui/"))
	p.typeInto("typing the token", "#token", srv.token)
	p.click("signing in", ".signin-form button[type=submit]")
	p.click("opening the project", `tr[data-project-id="`+project+`"] a.project-link`)
	p.click("opening the Subjects tab", "#tab-subjects")
	p.wait("the Subjects tab", `document.querySelector("#subject-id")`)
	if got := js[string](p, "reading the address", `location.hash`); got != "#/projects/"+project+"/subjects" {
		t.Errorf("address of the Subjects tab = %q, want #/projects/%s/subjects", got, project)
	}

	p.setValue("typing an id of 260 bytes", "#subject-id", strings.Repeat("é", 130))
	p.click("looking it up", "#lookup-subject")
	p.wait("the API's refusal", `document.querySelector(".tabpanel [role=alert]:not([hidden])")`)
	if got := p.text(".tabpanel [role=alert]"); !strings.Contains(got, "1 to 256 bytes") || !strings.Contains(got, "HTTP 400") {
		t.Errorf("error for an overlong id = %q, want the API's message (1 to 256 bytes) and HTTP 400", got)
	}

	// The ids "." and "..": a browser resolves them in an address (even
	// percent-encoded), "…/subjects/.." to the project's own path, where
	// erasing would delete the project. The console refuses them and names
	// the CLI instead.
	for _, dots := range []string{"..", "."} {
		p.typeInto("typing the id "+dots, "#subject-id", dots)
		p.click("looking it up", "#lookup-subject")
		p.wait("the refusal of "+dots, `document.querySelector(".tabpanel [role=alert]:not([hidden])") && document.querySelector(".tabpanel [role=alert]").textContent.includes("sdproxy subject show")`)
	}

	p.typeInto("typing an id never seen", "#subject-id", "nobody")
	p.click("looking it up", "#lookup-subject")
	p.wait("state none", `document.querySelector("#subject-state") && document.querySelector("#subject-state").textContent.startsWith("none")`)
	if !js[bool](p, "looking at the error box", `document.querySelector(".tabpanel [role=alert]").hidden`) {
		t.Error("the error of the previous lookup is still shown after a lookup that worked")
	}

	p.typeInto("typing the subject id", "#subject-id", subject)
	p.click("looking it up", "#lookup-subject")
	p.wait("state active", `document.querySelector("#subject-state") && document.querySelector("#subject-state").textContent.startsWith("active")`)
	if got := p.text("#subject-sealed"); got == "0" || got == "" {
		t.Errorf("sealed values of the subject = %q, want at least 1", got)
	}
	ref := p.text("#subject-ref")
	if len(ref) < 8 || strings.Contains(ref, "ann") {
		t.Errorf("reference shown = %q, want the subject's reference, not its id", ref)
	}

	p.click("asking to erase", "#erase-subject")
	p.wait("the confirmation", `document.querySelector("dialog[open] #erase-confirm")`)
	if got := p.text("dialog[open]"); !strings.Contains(got, "irreversible") || !strings.Contains(got, "unreadable") {
		t.Errorf("erase confirmation = %q, want it to say erasure is irreversible and values become unreadable", got)
	}
	p.typeInto("typing another id", "#erase-confirm", "tenant/ann")
	if !js[bool](p, "reading the Erase button", `document.querySelector("dialog[open] button.danger").disabled`) {
		t.Error("the Erase button is enabled while the typed id differs from the subject's")
	}
	p.typeInto("typing the subject id again", "#erase-confirm", subject)
	p.screenshot(shots, "subjects-erase")
	p.click("erasing", "dialog[open] button.danger:enabled")
	p.wait("state erased", `!document.querySelector("dialog") && document.querySelector("#subject-state").textContent.startsWith("erased")`)
	if js[bool](p, "looking for the Erase button", `!!document.querySelector("#erase-subject")`) {
		t.Error("an erased subject still offers Erase…")
	}
	if got := p.text("#subject-ref"); got != ref {
		t.Errorf("reference after erasure = %q, want %q", got, ref)
	}
	p.screenshotAt(shots, "subjects", "#tab-subjects")
	checkNoSecret(t, p, "the subject id", subject, false)
	checkNoSecret(t, p, "the subject id", "tenant%2Fann", false)

	status, body = srv.directCall(t, "/api-v1/v1/decrypt", key, "", tokenJSON)
	if status != 422 || !strings.Contains(body, `"subject_erased"`) {
		t.Errorf("decrypt after erasure = %d %s, want 422 subject_erased", status, body)
	}
	var got struct {
		State string `json:"state"`
	}
	path := "/admin/v1/projects/" + project + "/subjects/" + url.PathEscape(subject)
	if st := srv.admin(t, "GET", path, nil, &got); st != 200 || got.State != "erased" {
		t.Errorf("GET %s = %d state %q, want 200 erased", path, st, got.State)
	}
}

// projectWithKey creates a project named name and a key that may encrypt
// and decrypt, through the admin API. It returns the project's id and the
// key (the full secret).
func (s *sdproxy) projectWithKey(t *testing.T, name string) (project, key string) {
	t.Helper()
	var prj struct {
		ID string `json:"id"`
	}
	if st := s.admin(t, "POST", "/admin/v1/projects", map[string]any{"name": name}, &prj); st != 201 {
		t.Fatalf("creating project %s: status %d, want 201", name, st)
	}
	var k struct {
		Key string `json:"key"`
	}
	if st := s.admin(t, "POST", "/admin/v1/projects/"+prj.ID+"/keys",
		map[string]any{"name": "app", "permissions": []string{"encrypt", "decrypt"}}, &k); st != 201 || k.Key == "" {
		t.Fatalf("creating a key: status %d, want 201 with the key", st)
	}
	return prj.ID, k.Key
}

// directCall posts body to path of the data listener's direct API with
// key, and with X-Qanapi-Subject when subject is not empty. It returns
// the status and the body.
func (s *sdproxy) directCall(t *testing.T, path, key, subject, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.dataURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Qanapi-Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	if subject != "" {
		req.Header.Set("X-Qanapi-Subject", subject)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
