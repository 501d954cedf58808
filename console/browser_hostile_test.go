package console

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserHostileValuesStayText: values an API-key holder or an
// operator-adjacent party controls (project, key,
// classification and route names, request paths, methods, headers and the
// admin API's error messages) carry HTML markup; every tab is opened and
// the page must hold the markup as text only: no element, no event
// handler attribute, no script run.
func TestBrowserHostileValuesStayText(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	chromium := chromiumPath(t)
	srv := startSdproxy(t)
	p := newPage(t, chromium, 1280, 800, false)
	defer p.checkProblems()

	mark := func(n int) string {
		return fmt.Sprintf(`<img src=x id=pwn%d onerror="window.__pwn=%d"><svg onload=window.__pwn=1>"'&amp;`, n, n)
	}
	project, key := srv.projectWithKey(t, mark(1))
	var k struct{}
	if st := srv.admin(t, "POST", "/admin/v1/projects/"+project+"/keys",
		map[string]any{"name": mark(2), "permissions": []string{"encrypt"}}, &k); st != 201 {
		t.Fatalf("key with a hostile name: %d", st)
	}
	if st := srv.admin(t, "POST", "/admin/v1/projects/"+project+"/classifications",
		map[string]any{"slug": "pii", "name": mark(3), "description": mark(4), "mask": map[string]any{"show_first": 0, "show_last": 4, "char": "<"}}, nil); st != 201 {
		t.Fatalf("classification with hostile name: %d", st)
	}
	// A route path with markup, if the API takes it.
	st := srv.admin(t, "POST", "/admin/v1/projects/"+project+"/routes",
		map[string]any{"path": "/a/<img src=x id=pwn5>/**", "request": map[string]any{"mode": "encrypt", "fields": []string{"<b id=pwn6>"}}}, nil)
	t.Logf("route with markup in its path and fields: %d", st)

	// Data-plane requests whose path, destination and headers carry markup.
	for _, path := range []string{
		"/proxy/" + project + "/%3Cimg%20src=x%20id=pwn7%20onerror=window.__pwn=7%3E",
		"/proxy/" + project + "/<img src=x id=pwn8>",
	} {
		req, _ := http.NewRequest("POST", srv.dataURL+path, strings.NewReader(`{"title":"x"}`))
		req.Header.Set("X-Qanapi-Authorization", key)
		req.Header.Set("X-Qanapi-Fields", "title")
		req.Header.Set("X-Qanapi-Geofence", mark(9))
		req.Header.Set("User-Agent", mark(10))
		req.Header.Set("X-Forwarded-For", mark(11))
		req.Header.Set("X-Request-Id", mark(12))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := srv.client.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("POST %s = %d %s", path, resp.StatusCode, b)
		} else {
			t.Logf("POST %s: %v", path, err)
		}
	}
	waitRequestEvents(t, srv, project, 2, 10*time.Second) // event writes are batched

	p.do("opening the console", chromedp.Navigate(srv.adminURL+"/ui/"))
	p.typeInto("typing the token", "#token", srv.token)
	p.click("signing in", ".signin-form button[type=submit]")
	p.wait("the project list", `document.querySelector('tr[data-project-id="`+project+`"]')`)
	checkInert(t, p, "project list")
	p.click("opening the project", `tr[data-project-id="`+project+`"] a.project-link`)
	for _, tab := range []string{"keys", "proxy", "routes", "classifications", "events", "datakeys", "subjects"} {
		p.click("opening "+tab, "#tab-"+tab)
		p.wait(tab+" loaded", `document.querySelector("#tab-`+tab+`").getAttribute("aria-selected") === "true" && !document.querySelector('.tabpanel [aria-busy="true"]')`)
		if tab == "events" {
			if err := p.tryWait(`document.querySelectorAll('tr[data-type="request"]').length >= 2`, 8*time.Second); err != nil {
				t.Fatalf("the events tab lists no 2 request events (%v): the markup in them went untested", err)
			}
		}
		if tab == "routes" {
			p.setValue("preview path", "#preview-path", "/<img src=x id=pwn13>")
			p.setValue("preview body", "#preview-body", `{"<img src=x id=pwn14>":"jane@example.com","email":"<img src=x id=pwn15>"}`)
			p.click("previewing", "#preview-run")
			p.wait("the preview", `document.querySelector("#preview-route") || document.querySelector("#try-it [role=alert]:not([hidden])")`)
		}
		if tab == "classifications" {
			p.click("create", "#create-classification")
			p.typeInto("slug", "#classification-slug", `<img src=x id=pwn16>`)
			p.click("submit", "#classification-submit")
			p.wait("the refusal", `document.querySelector("dialog[open] [role=alert]:not([hidden])")`)
			t.Logf("refusal: %s", p.text("dialog[open] [role=alert]"))
			checkInert(t, p, "classification refusal")
			p.click("cancel", "dialog[open] button.secondary")
		}
		checkInert(t, p, tab)
	}
	if got := p.text("h1"); !strings.Contains(got, "<img") {
		t.Errorf("project title = %q, want the markup shown as text", got)
	}
}

func checkInert(t *testing.T, p *page, where string) {
	t.Helper()
	bad := js[string](p, "looking for injected markup", `(() => {
		const out = [];
		if (window.__pwn !== undefined) out.push('window.__pwn=' + window.__pwn);
		for (const el of document.querySelectorAll('[id^=pwn], img, svg, iframe, object, embed, script:not([src])')) out.push(el.outerHTML);
		for (const el of document.querySelectorAll('*')) for (const a of el.attributes) if (a.name.startsWith('on')) out.push(el.tagName + '[' + a.name + ']');
		for (const el of document.querySelectorAll('[href]')) if (!el.getAttribute('href').startsWith('#/') && el.getAttribute('href') !== 'app.css' && el.getAttribute('href') !== 'data:,') out.push('href ' + el.getAttribute('href'));
		return out.join('\n');
	})()`)
	if bad != "" {
		t.Errorf("%s: markup from the API became elements or handlers:\n%s", where, bad)
	}
}

// waitRequestEvents waits until the admin API lists at least n request
// events of project, for at most within.
func waitRequestEvents(t *testing.T, srv *sdproxy, project string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var page eventsPage
		if st := srv.admin(t, "GET", "/admin/v1/projects/"+project+"/events?type=request", nil, &page); st != 200 {
			t.Fatalf("listing events: %d", st)
		}
		if len(page.Items) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d request events listed after %v, want %d", len(page.Items), within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserCraftedAddress: the console's address (#/projects/{id}/{tab})
// is something anyone can put in a link. A malformed percent-escape in the
// id must not throw out of the router (an uncaught URIError leaves the tab
// on "Loading the console…" after a reload), and the ids "." and ".."
// (which the browser resolves in the API path: GET …/projects/. is the
// project LIST, shown as if it were a project) must not be sent; both go
// to the project list, as any other unknown address does.
func TestBrowserCraftedAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	chromium := chromiumPath(t)
	srv := startSdproxy(t)
	project, _ := srv.projectWithKey(t, "Real")
	p := newPage(t, chromium, 1280, 800, false)
	defer p.checkProblems()

	p.do("opening the console", chromedp.Navigate(srv.adminURL+"/ui/"))
	p.typeInto("typing the token", "#token", srv.token)
	p.click("signing in", ".signin-form button[type=submit]")
	p.wait("the project list", `document.querySelector('tr[data-project-id="`+project+`"]')`)

	for _, id := range []string{"%E0%A4%A", "%", ".", "%2E"} {
		t.Run(id, func(t *testing.T) {
			p.do("going to the home page", chromedp.Navigate(srv.adminURL+"/ui/#/projects"))
			p.wait("the project list", `document.querySelector('tr[data-project-id="`+project+`"]')`)
			p.do("following a crafted link", chromedp.Navigate(srv.adminURL+"/ui/#/projects/"+id+"/keys"),
				chromedp.Reload())
			var err error
			for range 3 { // a poll may start while the reload still runs
				if err = p.tryWait(`document.querySelector('tr[data-project-id="`+project+`"]')`, 3e9); err == nil {
					break
				}
			}
			if err != nil {
				t.Errorf("after opening #/projects/%s/keys the console does not show the project list (%v); it shows:\n%s",
					id, err, strings.TrimSpace(p.mainText()))
			}
		})
	}
}
