package console

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sdproxy/sdproxy/internal/testpki"
)

// TestConsoleInBrowser drives the console in headless Chromium against a
// real `sdproxy serve`: sign in, create a project, create an API key
// through the dialog and read it once, use it through the proxy, watch
// Last Used and the Event Log, edit the proxy settings, rotate the data
// key, revoke the key and see the proxy refuse it, rotate a key, create a
// key with a decrypt budget and see what is left of it; create
// and edit classifications, create, reorder and edit routes, preview what
// they do to a pasted body, see a classification in use refused, delete a
// route; sign out.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test builds and runs sdproxy and Chromium (about 10 s)")
	}
	chromium := chromiumPath(t)
	s := &scenario{t: t, srv: startSdproxy(t), shots: screenshotMode()}
	s.p = newPage(t, chromium, s.shots.width, s.shots.height, s.shots.mobile)
	defer s.p.checkProblems()

	s.signIn()
	s.createProject()
	s.createKey()
	s.useKeyAndWatchEvents()
	s.editProxySettings()
	s.rotateDataKey()
	s.revokeKey()
	s.rotateOtherKey()
	s.createBudgetedKey()
	s.manageClassifications()
	s.manageRoutes()
	s.tryPreview()
	s.deleteInUse()
	s.listProjectsAndSignOut()
}

// scenario is the state the steps of TestConsoleInBrowser share.
type scenario struct {
	t     *testing.T
	p     *page
	srv   *sdproxy
	shots shotMode

	project string // the project's id
	otherID string // a key made through the admin API
	key     string // the key made through the console (the full secret)
	keyID   string
	row     string // CSS selector of key's row
	posts   string // the route /posts/** made through the console
	drafts  string // the route /posts/drafts made through the console
}

// signIn: a wrong token is refused in words, the right one is kept in
// sessionStorage only.
func (s *scenario) signIn() {
	t, p := s.t, s.p
	p.do("opening the console", chromedp.Navigate(s.srv.adminURL+"/ui/"))
	p.wait("the sign-in form, focused", `document.activeElement && document.activeElement.id === "token"`)
	p.screenshot(s.shots, "signin")
	p.typeInto("typing a wrong token", "#token", "not-the-token")
	p.click("signing in with a wrong token", ".signin-form button[type=submit]")
	p.wait("the wrong-token message", `document.querySelector(".signin-form .error:not([hidden])")`)
	if msg := p.text(".signin-form .error"); !strings.Contains(msg, "Wrong admin token") || !strings.Contains(msg, "unauthorized") {
		t.Errorf("wrong-token message = %q, want it to say \"Wrong admin token\" and the API's code unauthorized", msg)
	}
	p.typeInto("typing the token", "#token", s.srv.token)
	p.click("signing in", ".signin-form button[type=submit]")
	p.wait("the project list", `document.querySelector("#create-project")`)
	checkNoSecret(t, p, "the admin token", s.srv.token, true)
}

// createProject creates a project (cap: 2 active keys) through its dialog,
// and a second key through the admin API, which shows after Refresh.
func (s *scenario) createProject() {
	t, p := s.t, s.p
	p.click("opening Create project", "#create-project")
	p.wait("the Create project dialog", `document.querySelector("dialog[open] #project-form")`)
	p.typeInto("typing the project name", "#project-name", "Checkout")
	p.setValue("choosing the environment", "#project-environment", "staging")
	p.setValue("setting max active keys", "#project-max-keys", "2")
	p.click("creating the project", "dialog[open] #project-form button[type=submit]")
	p.wait("the project page", `document.querySelector("#key-count") && document.querySelector("#key-count").textContent === "0 of 2 active keys"`)
	hash := js[string](p, "reading the address", `location.hash`)
	s.project = strings.TrimSuffix(strings.TrimPrefix(hash, "#/projects/"), "/keys")
	if !strings.HasPrefix(s.project, "prj_") {
		t.Fatalf("address after creating a project = %q, want #/projects/prj_…/keys", hash)
	}

	var other struct {
		ID string `json:"id"`
	}
	if st := s.srv.admin(t, "POST", "/admin/v1/projects/"+s.project+"/keys",
		map[string]any{"name": "batch-jobs", "permissions": []string{"encrypt"}}, &other); st != 201 {
		t.Fatalf("creating a second key through the admin API: status %d, want 201", st)
	}
	s.otherID = other.ID
	p.click("refreshing the keys", "#refresh-keys")
	p.wait("the refreshed count", `document.querySelector("#key-count").textContent === "1 of 2 active keys"`)
}

// createKey creates a key through the dialog and reads it, once; the
// project is then at its cap.
func (s *scenario) createKey() {
	t, p := s.t, s.p
	p.click("opening Create API Key", "#create-key")
	p.wait("the Create API Key dialog with focus inside", `document.querySelector("dialog[open]") && document.querySelector("dialog[open]").contains(document.activeElement)`)
	notice := p.text("dialog[open] .notice")
	for _, want := range []string{"displayed only once", "store it securely", "cannot be retrieved"} {
		if !strings.Contains(notice, want) {
			t.Errorf("security notice = %q, want it to say %q", notice, want)
		}
	}
	p.typeInto("naming the key", "#key-name", "checkout-service")
	p.screenshot(s.shots, "keys-create")
	p.click("creating the key", "#create-key-submit")
	p.wait("the one-time key", `document.querySelector("#new-key")`)
	s.key = p.text("#new-key")
	if !strings.HasPrefix(s.key, "qk_") || strings.Count(s.key, "_") < 2 {
		t.Fatalf("the one-time key reads %q, want qk_<id>_<secret>", s.key)
	}
	s.keyID = s.key[:strings.LastIndex(s.key, "_")]
	s.row = `tr[data-key-id="` + s.keyID + `"]`
	p.click("copying the key", "#copy-key")
	p.wait("the copy result", `document.querySelector("dialog[open] .copy-status").textContent !== ""`)
	p.screenshot(s.shots, "keys")
	p.click("closing the key dialog", "#close-key")
	p.wait("the dialog gone", `!document.querySelector("dialog")`)
	checkNoSecret(t, p, "the API key", s.key, false)

	p.wait("the count at the cap", `document.querySelector("#key-count").textContent === "2 of 2 active keys"`)
	if !js[bool](p, "reading the Create button", `document.querySelector("#create-key").disabled && !document.querySelector("#cap-note").hidden`) {
		t.Errorf("at the cap (2 of 2) the Create API Key button is enabled or the explanation hidden")
	}
	if got := p.text(s.row + " .last-used"); got != "never" {
		t.Errorf("Last Used of a new key = %q, want never", got)
	}
}

// instanceColumn is true when the Event Log table has an Instance column.
const instanceColumn = `[...document.querySelectorAll('.events-list th')].some((th) => th.textContent.trim() === 'Instance')`

// mergedEventLog answers the Event Log's requests as an etcd backend's
// merged list would (the events spread over two instances, a third named
// unreachable), by wrapping fetch in the page: the table gains an
// Instance column and a notice names the missing instance; unwrapped,
// both go again.
func (s *scenario) mergedEventLog() {
	t, p := s.t, s.p
	js[bool](p, "wrapping fetch", `(() => {
		window.realFetch = window.fetch;
		window.fetch = async (path, init) => {
			const res = await window.realFetch(path, init);
			if (!String(path).includes('/events?')) return res;
			const page = await res.json();
			page.items = page.items.map((e, i) => ({ ...e, instance_id: i % 2 ? 'inst_other' : 'inst_self' }));
			page.unreachable = ['inst_gone'];
			return new Response(JSON.stringify(page), { status: 200, headers: { 'Content-Type': 'application/json' } });
		};
		return true;
	})()`)
	p.click("refreshing the merged log", "#refresh-events")
	p.wait("the Instance column", instanceColumn)
	p.wait("the unreachable notice", `document.querySelector('#events-unreachable .notice')`)
	if got := p.text("#events-unreachable .notice"); got != "Not answering, so their events are missing from this page: inst_gone" {
		t.Errorf("unreachable notice = %q, want it to name inst_gone", got)
	}
	if got := p.text(`tr[data-type="request"]`); !strings.Contains(got, "inst_") {
		t.Errorf("request event row of the merged log = %q, want its instance", got)
	}
	js[bool](p, "unwrapping fetch", `(() => { window.fetch = window.realFetch; return true; })()`)
	p.click("refreshing the log", "#refresh-events")
	p.wait("one instance's log again", `!(`+instanceColumn+`) && !document.querySelector('#events-unreachable .notice')`)
}

// useKeyAndWatchEvents opens the Event Log, uses the key through the
// proxy, waits for the request to appear (by auto-refresh), then sees Last
// Used change on the API Keys tab.
func (s *scenario) useKeyAndWatchEvents() {
	t, p := s.t, s.p
	p.click("opening the Event Log tab", "#tab-events")
	p.wait("the Event Log tab", `document.querySelector("#event-auto")`)
	status, body := s.srv.proxyEncrypt(t, s.project, s.key)
	if status != 200 || !strings.Contains(body, `"qanapi:`) {
		t.Fatalf("POST /proxy/%s with the new key = %d %s, want 200 with encrypted fields", s.project, status, body)
	}
	t.Run("EventLog", func(t *testing.T) {
		if why := s.srv.waitRequestEvent(t, s.project, s.keyID, 5*time.Second); why != "" {
			t.Fatalf("the Event Log tab cannot show the request: %s", why)
		}
		// No click: the tab refreshes itself every 5 s.
		if err := p.tryWait(`document.querySelector('tr[data-type="request"]')`, 7*time.Second); err != nil {
			t.Fatalf("the request event did not appear in the Event Log tab within 7 s of auto-refresh: %v\npage text:\n%s", err, p.mainText())
		}
		got := p.text(`tr[data-type="request"]`)
		for _, want := range []string{s.keyID, "POST /proxy/" + s.project, "encrypt", "title, body", "200"} {
			if !strings.Contains(got, want) {
				t.Errorf("request event row = %q, want it to show %q", got, want)
			}
		}
		p.setValue("filtering by type", "#event-type", "key.created")
		p.wait("the filtered log", `!document.querySelector('tr[data-type="request"]') && document.querySelector('tr[data-type="key.created"]')`)
		p.setValue("clearing the filter", "#event-type", "")
		p.wait("the unfiltered log", `document.querySelector('tr[data-type="request"]')`)
		if js[bool](p, "looking for an Instance column", instanceColumn) {
			t.Error("the Event Log of one instance has an Instance column, want none")
		}
		p.screenshot(s.shots, "events")
		s.mergedEventLog()
	})

	p.click("opening the API Keys tab", "#tab-keys")
	p.wait("Last Used set", `document.querySelector('`+s.row+` .last-used') && document.querySelector('`+s.row+` .last-used').textContent !== "never"`)
}

// editProxySettings reaches Data Proxy with the arrow key, checks the
// proxy URL and curl examples, and saves a new rate limit.
func (s *scenario) editProxySettings() {
	t, p := s.t, s.p
	p.do("moving to Data Proxy with the arrow key",
		chromedp.Focus(chromedp.CSS("#tab-keys")), chromedp.KeyEvent(kb.ArrowRight))
	p.wait("the Data Proxy tab", `document.querySelector("#tab-proxy").getAttribute("aria-selected") === "true" && document.activeElement.id === "tab-proxy" && document.querySelector("#proxy-base")`)
	p.setValue("setting the data listener's base URL", "#proxy-base", s.srv.dataURL)
	url := s.srv.dataURL + "/proxy/" + s.project
	if got := p.text("#proxy-url"); got != url {
		t.Errorf("proxy URL = %q, want %q", got, url)
	}
	curl := p.text("#curl-encrypt") + p.text("#curl-decrypt")
	if !strings.Contains(curl, "$KEY") || !strings.Contains(curl, url) || strings.Contains(curl, s.key) {
		t.Errorf("curl examples = %q, want this project's URL and $KEY (never the key)", curl)
	}
	p.setValue("changing the rate limit", "#project-rps", "75")
	p.click("saving the settings", "#save-project")
	p.wait("the settings saved", `document.querySelector(".settings .form-status").textContent === "Saved."`)
	var proj struct {
		RateLimit struct {
			RequestsPerSecond float64 `json:"requests_per_second"`
		} `json:"rate_limit"`
	}
	if s.srv.admin(t, "GET", "/admin/v1/projects/"+s.project, nil, &proj); proj.RateLimit.RequestsPerSecond != 75 {
		t.Errorf("after saving, requests_per_second = %v, want 75", proj.RateLimit.RequestsPerSecond)
	}
	s.setUpstreamTLS()
	p.screenshot(s.shots, "proxy")
}

// rotateDataKey: v1 sealed the request's fields; rotating makes v2 current.
func (s *scenario) rotateDataKey() {
	p := s.p
	p.click("opening the Data Keys tab", "#tab-datakeys")
	p.wait("the data keys", `document.querySelector('tr[data-version="1"]')`)
	p.click("rotating the data key", "#rotate-datakey")
	p.wait("v2 current", `document.querySelector('tr[data-version="2"]') && document.querySelector('tr[data-version="2"]').textContent.includes("current")`)
	p.screenshot(s.shots, "datakeys")
}

// revokeKey: Escape backs out, the confirmation revokes, the list and the
// count update at once, and the proxy refuses the key.
func (s *scenario) revokeKey() {
	t, p := s.t, s.p
	p.click("opening the API Keys tab again", "#tab-keys")
	p.click("asking to revoke", s.row+" button.revoke")
	p.wait("the confirmation with focus on Cancel", `document.querySelector("dialog[open]") && document.activeElement.textContent === "Cancel"`)
	p.do("pressing Escape", chromedp.KeyEvent(kb.Escape))
	p.wait("the confirmation closed", `!document.querySelector("dialog")`)
	if got := p.text(s.row + " .badge"); got != "active" {
		t.Errorf("after Escape the key's status = %q, want active", got)
	}
	p.click("asking to revoke again", s.row+" button.revoke")
	p.click("confirming", "dialog[open] button.danger")
	p.wait("the key revoked", `!document.querySelector("dialog") && document.querySelector('`+s.row+` .badge').textContent === "revoked"`)
	p.wait("the count updated", `document.querySelector("#key-count").textContent === "1 of 2 active keys" && !document.querySelector("#create-key").disabled`)
	p.screenshot(s.shots, "keys-list")
	if status, body := s.srv.proxyEncrypt(t, s.project, s.key); status != 401 {
		t.Errorf("POST /proxy/%s with the revoked key = %d %s, want 401", s.project, status, body)
	}
}

// rotateOtherKey rotates the other key with no grace period: the new key
// is shown once and works, the old one ends and points at it.
func (s *scenario) rotateOtherKey() {
	t, p := s.t, s.p
	row := `tr[data-key-id="` + s.otherID + `"]`
	p.click("asking to rotate", row+" button.rotate")
	p.setValue("choosing no grace period", "#grace-period", "0s")
	p.click("confirming the rotation", "dialog[open] button[type=submit]")
	p.wait("the rotated key shown once", `document.querySelector("dialog[open] #new-key")`)
	rotated := p.text("#new-key")
	p.click("closing the rotated key", "#close-key")
	p.wait("the list after the rotation", `!document.querySelector("dialog") && document.querySelector('`+row+`').textContent.includes("rotated to")`)
	checkNoSecret(t, p, "the rotated key", rotated, false)
	if status, body := s.srv.proxyEncrypt(t, s.project, rotated); status != 200 {
		t.Errorf("POST /proxy/%s with the rotated key = %d %s, want 200", s.project, status, body)
	}
	if got := p.text("#key-count"); got != "1 of 2 active keys" {
		t.Errorf("after rotating, the count = %q, want \"1 of 2 active keys\"", got)
	}
}

// listProjectsAndSignOut: the project list shows the project; signing
// out forgets the token.
func (s *scenario) listProjectsAndSignOut() {
	t, p := s.t, s.p
	p.click("going back to the projects", `a[href="#/projects"]`)
	p.wait("the project in the list", `document.querySelector('tr[data-project-id="`+s.project+`"] a.project-link')`)
	if got := p.text(`tr[data-project-id="` + s.project + `"]`); !strings.Contains(got, "Checkout") || !strings.Contains(got, "staging") {
		t.Errorf("project row = %q, want its name Checkout and environment staging", got)
	}
	p.screenshot(s.shots, "projects")
	p.click("signing out", "#signout")
	p.wait("the sign-in form again", `document.querySelector("#token") && sessionStorage.length === 0`)
}

// checkNoSecret fails the test if secret is in the page's DOM, its
// address, localStorage, cookies, or sessionStorage. The admin token
// (isToken) must be in sessionStorage, under sdproxy.adminToken.
func checkNoSecret(t *testing.T, p *page, what, secret string, isToken bool) {
	t.Helper()
	places := map[string]string{
		"the address":    `location.href`,
		"localStorage":   `JSON.stringify(Object.entries(localStorage))`,
		"cookies":        `document.cookie`,
		"the page's DOM": `document.documentElement.outerHTML`,
	}
	if !isToken {
		places["sessionStorage"] = `JSON.stringify(Object.entries(sessionStorage))`
	}
	for place, expr := range places {
		if strings.Contains(js[string](p, "reading "+place, expr), secret) {
			t.Errorf("%s is in %s", what, place)
		}
	}
	if isToken {
		got := js[string](p, "reading sessionStorage", `sessionStorage.getItem("sdproxy.adminToken") || ""`)
		if got != secret {
			t.Errorf("sessionStorage sdproxy.adminToken = %q, want the admin token", got)
		}
	}
}

// setUpstreamTLS: the proxy settings take an upstream CA and a client
// certificate with its key; the key is never shown again, the status line
// says what is set.
func (s *scenario) setUpstreamTLS() {
	t, p := s.t, s.p
	ca := testpki.NewCA(t, "console upstream CA")
	client := ca.Issue(t, "console client", "client.test")
	if got := p.text("#project-upstream-tls"); !strings.Contains(got, "system's roots") || !strings.Contains(got, "no client certificate") {
		t.Errorf("upstream TLS status = %q, want the system's roots and no client certificate", got)
	}
	p.setValue("pasting an upstream CA", "#project-upstream-ca", ca.CertPEM)
	p.setValue("pasting a client certificate", "#project-client-cert", client.CertPEM)
	p.click("saving without the key", "#save-project")
	p.wait("the missing key refused", `document.querySelector(".settings [role=alert]") && document.querySelector(".settings [role=alert]").textContent.includes("private key")`)
	p.setValue("pasting its key", "#project-client-key", client.KeyPEM)
	p.click("saving the upstream TLS", "#save-project")
	p.wait("the upstream TLS saved", `document.querySelector(".settings .form-status").textContent === "Saved."`)
	if got := p.text("#project-upstream-tls"); !strings.Contains(got, "project's CA (1 certificate)") || !strings.Contains(got, "key is set") {
		t.Errorf("upstream TLS status after saving = %q, want the project's CA and a key set", got)
	}
	if got := js[string](p, "reading the key field", `document.querySelector("#project-client-key").value`); got != "" {
		t.Errorf("the key field after saving holds %q, want it empty (the key is never shown again)", got)
	}
	var proj struct {
		UpstreamCA string `json:"upstream_ca"`
		KeySet     bool   `json:"upstream_client_key_set"`
	}
	if s.srv.admin(t, "GET", "/admin/v1/projects/"+s.project, nil, &proj); proj.UpstreamCA != ca.CertPEM || !proj.KeySet {
		t.Errorf("after saving, upstream_ca = %q and upstream_client_key_set %v, want the CA and true", proj.UpstreamCA, proj.KeySet)
	}
}
