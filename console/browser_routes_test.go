package console

import (
	"strings"
)

// The steps of TestConsoleInBrowser for the Classifications and Routes
// tabs.

// maskedExample is the Classifications tab's example value, masked
// (show_first 1, show_last 2, '#'), as classifications.js shows it.
const maskedExample = "4################34"

// manageClassifications creates pii and card through the dialog, and
// edits pii's mask; the admin API then has the new mask.
func (s *scenario) manageClassifications() {
	t, p := s.t, s.p
	p.click("opening the Classifications tab", "#tab-classifications")
	p.wait("the Classifications tab", `document.querySelector("#create-classification") && document.querySelector(".classifications-list").getAttribute("aria-busy") === "false"`)
	s.createClassification("pii", "Personal data")
	s.createClassification("card", "Card numbers")

	row := `tr[data-slug="pii"]`
	p.click("editing pii", row+" button.edit")
	p.wait("the edit dialog", `document.querySelector("dialog[open] #classification-form")`)
	if !js[bool](p, "reading the slug field", `document.querySelector("#classification-slug").readOnly`) {
		t.Errorf("editing a classification, the slug can be changed; want it read-only")
	}
	p.setValue("showing the first character", "#mask-show-first", "1")
	p.setValue("showing the last 2", "#mask-show-last", "2")
	p.setValue("masking with #", "#mask-char", "#")
	if got := p.text("#mask-preview"); got != maskedExample {
		t.Errorf("mask preview = %q, want %q", got, maskedExample)
	}
	p.click("saving the mask", "#classification-submit")
	p.wait("the new mask in the list", `!document.querySelector("dialog") && document.querySelector('`+row+` .mask-example').textContent === "`+maskedExample+`"`)
	var c struct {
		Name string `json:"name"`
		Mask struct {
			ShowFirst int    `json:"show_first"`
			ShowLast  int    `json:"show_last"`
			Char      string `json:"char"`
		} `json:"mask"`
	}
	if st := s.srv.admin(t, "GET", "/admin/v1/projects/"+s.project+"/classifications/pii", nil, &c); st != 200 ||
		c.Mask.ShowFirst != 1 || c.Mask.ShowLast != 2 || c.Mask.Char != "#" || c.Name != "Personal data" {
		t.Errorf("GET …/classifications/pii after the edit = %d %+v, want 200, name \"Personal data\", mask 1, 2, #", st, c)
	}
	p.screenshot(s.shots, "classifications")
}

// createClassification creates slug through the dialog, with the default mask.
func (s *scenario) createClassification(slug, name string) {
	p := s.p
	p.click("opening Create classification", "#create-classification")
	p.wait("the Create classification dialog", `document.querySelector("dialog[open] #classification-slug") === document.activeElement`)
	p.typeInto("typing the slug", "#classification-slug", slug)
	p.typeInto("typing the name", "#classification-name", name)
	p.click("creating the classification", "#classification-submit")
	p.wait("the classification in the list", `!document.querySelector("dialog") && document.querySelector('tr[data-slug="`+slug+`"]')`)
}

// route is the part of a route answer the steps check.
type route struct {
	ID      string `json:"id"`
	Path    string `json:"path"`
	Order   int    `json:"order"`
	Request *struct {
		Mode           string   `json:"mode"`
		Fields         []string `json:"fields"`
		Classification string   `json:"classification"`
		Require        []string `json:"require"`
		Index          []struct {
			Field     string `json:"field"`
			Normalize string `json:"normalize"`
			Name      string `json:"name"`
		} `json:"index"`
		SubjectField string `json:"subject_field"`
	} `json:"request"`
	Response *struct {
		Mode   string   `json:"mode"`
		Fields []string `json:"fields"`
	} `json:"response"`
}

// listRoutes lists the project's routes through the admin API.
func (s *scenario) listRoutes() []route {
	var page struct {
		Items []route `json:"items"`
	}
	if st := s.srv.admin(s.t, "GET", "/admin/v1/projects/"+s.project+"/routes", nil, &page); st != 200 {
		s.t.Fatalf("GET …/routes = %d, want 200", st)
	}
	return page.Items
}

// routeOrder is the route ids as the Routes tab lists them.
func (s *scenario) routeOrder() string {
	return js[string](s.p, "reading the routes' order",
		`[...document.querySelectorAll("tr[data-route-id]")].map((r) => r.dataset.routeId).join(",")`)
}

// manageRoutes creates two routes through the dialog (the second one
// shadowed by the first), moves the second up, edits the first, and
// checks each change through the admin API.
func (s *scenario) manageRoutes() {
	t, p := s.t, s.p
	p.click("opening the Routes tab", "#tab-routes")
	p.wait("the empty Routes tab", `document.querySelector("#create-route") && document.querySelector("#route-count").textContent === "0 routes"`)

	p.click("opening Create route", "#create-route")
	p.wait("the Create route dialog", `document.querySelector("dialog[open] #route-form") && document.querySelector("#route-request-classification option[value=pii]")`)
	p.typeInto("typing the path", "#route-path", "/posts/**")
	for _, m := range []string{"post", "put", "patch"} {
		p.click("ticking "+m, "#route-method-"+m)
	}
	p.typeInto("typing the order", "#route-order", "10")
	p.setValue("choosing encrypt", "#route-request-mode", "encrypt")
	p.setValue("naming the request fields", "#route-request-fields", "title\nbody")
	p.setValue("choosing the classification", "#route-request-classification", "pii")
	p.setValue("requiring the title", "#route-request-require", "title")
	p.setValue("indexing the title", "#route-request-index", "title:lower_trim")
	p.setValue("choosing decrypt for the answer", "#route-response-mode", "decrypt")
	p.setValue("naming the response fields", "#route-response-fields", "title, body")
	p.screenshot(s.shots, "routes-create")
	p.click("creating the route", "#route-submit")
	p.wait("the route in the list", `!document.querySelector("dialog") && document.querySelector("#route-count").textContent === "1 route"`)

	p.click("opening Create route again", "#create-route")
	p.wait("the Create route dialog", `document.querySelector("dialog[open] #route-form")`)
	p.typeInto("typing the second path", "#route-path", "/posts/drafts")
	p.click("ticking POST", "#route-method-post")
	p.typeInto("typing the order", "#route-order", "20")
	p.setValue("choosing encrypt", "#route-request-mode", "encrypt")
	p.setValue("naming the request fields", "#route-request-fields", "title, body, author.email")
	p.setValue("taking the subject from the author", "#route-request-subject-field", "author.id")
	p.click("creating the second route", "#route-submit")
	p.wait("both routes in the list", `!document.querySelector("dialog") && document.querySelector("#route-count").textContent === "2 routes"`)

	rs := s.listRoutes()
	if len(rs) != 2 || rs[0].Path != "/posts/**" || rs[1].Path != "/posts/drafts" {
		t.Fatalf("routes after creating two = %+v, want /posts/** then /posts/drafts", rs)
	}
	posts, drafts := rs[0], rs[1]
	if drafts.Request == nil || drafts.Request.SubjectField != "author.id" || posts.Request == nil || posts.Request.SubjectField != "" {
		t.Errorf("subject fields as created = %+v, %+v; want author.id on /posts/drafts only", drafts.Request, posts.Request)
	}
	if got := p.text(`tr[data-route-id="` + drafts.ID + `"] .route-subject`); !strings.Contains(got, "author.id") {
		t.Errorf("Routes tab shows the subject of /posts/drafts as %q, want author.id", got)
	}
	if r := posts.Request; r == nil || r.Mode != "encrypt" || strings.Join(r.Fields, ",") != "title,body" ||
		r.Classification != "pii" || strings.Join(r.Require, ",") != "title" ||
		len(r.Index) != 1 || r.Index[0].Field != "title" || r.Index[0].Normalize != "lower_trim" || r.Index[0].Name != "title_bidx" ||
		posts.Response == nil || strings.Join(posts.Response.Fields, ",") != "title,body" {
		t.Errorf("route /posts/** as created = %+v, want encrypt title, body as pii, title required and indexed; decrypt title, body", posts)
	}
	if got, want := s.routeOrder(), posts.ID+","+drafts.ID; got != want {
		t.Errorf("Routes tab order = %s, want %s (evaluation order)", got, want)
	}
	s.posts, s.drafts = posts.ID, drafts.ID

	// /posts/drafts is shadowed by /posts/**: move it up.
	p.click("moving /posts/drafts up", `tr[data-route-id="`+drafts.ID+`"] button.move-up`)
	p.wait("the move done", `document.querySelector("#routes-status").textContent.startsWith("Moved /posts/drafts to position 1")`)
	if got, want := s.routeOrder(), drafts.ID+","+posts.ID; got != want {
		t.Errorf("Routes tab order after moving up = %s, want %s", got, want)
	}
	if rs := s.listRoutes(); len(rs) != 2 || rs[0].ID != drafts.ID || rs[0].Order >= posts.Order {
		t.Errorf("routes after moving /posts/drafts up = %+v, want it first, with an order below %d", rs, posts.Order)
	}
	if !js[bool](p, "reading the focus", `document.activeElement.matches('tr[data-route-id="`+drafts.ID+`"] button.move-down')`) {
		t.Errorf("after moving a route to the top, focus is not on its Move down button")
	}

	// Edit /posts/**: one more request field; everything else kept.
	p.click("editing /posts/**", `tr[data-route-id="`+posts.ID+`"] button.edit`)
	p.wait("the edit dialog, filled", `document.querySelector("dialog[open] #route-path") && document.querySelector("#route-path").value === "/posts/**" && document.querySelector("#route-request-classification").value === "pii"`)
	p.setValue("adding a request field", "#route-request-fields", "title\nbody\nsummary")
	p.click("saving the route", "#route-submit")
	p.wait("the saved route", `!document.querySelector("dialog") && document.querySelector('tr[data-route-id="`+posts.ID+`"]').textContent.includes("summary")`)
	for _, r := range s.listRoutes() {
		if r.ID == posts.ID && (r.Request == nil || strings.Join(r.Request.Fields, ",") != "title,body,summary" ||
			r.Request.Classification != "pii" || len(r.Request.Index) != 1 || r.Response == nil || r.Order != posts.Order) {
			t.Errorf("route /posts/** after the edit = %+v, want fields title, body, summary and the rest unchanged", r)
		}
	}
}

// tryPreview pastes bodies in the "Try it" box: the matched route, the
// fields it transforms and the hints are highlighted.
func (s *scenario) tryPreview() {
	t, p := s.t, s.p
	p.setValue("choosing POST", "#preview-method", "POST")
	p.setValue("typing the path", "#preview-path", "/posts/42")
	p.setValue("pasting a body", "#preview-body",
		`{"title": "Hello", "body": "World", "author": {"name": "Jane", "email": "jane.doe@example.com"}, "tags": ["a"]}`)
	p.setValue("pasting an upstream answer", "#preview-response", `{"id": 42, "title": "Hello", "body": "World"}`)
	p.click("previewing", "#preview-run")
	p.wait("the preview", `document.querySelector("#preview-route") && document.querySelector("#preview-route").textContent.includes("/posts/**")`)
	req := `#preview-doc-request `
	for _, path := range []string{"title", "body"} {
		if !js[bool](p, "reading the highlights", `!!document.querySelector('`+req+`.pv-transform[data-path="`+path+`"]')`) {
			t.Errorf("preview: the request's %s is not highlighted as transformed", path)
		}
	}
	if js[bool](p, "reading the highlights", `!!document.querySelector('`+req+`.pv-transform[data-path="author.name"]')`) {
		t.Errorf("preview: author.name is highlighted as transformed; no rule names it")
	}
	hint := p.text(req + `.pv-hint[data-path="author.email"]`)
	if !strings.Contains(hint, "email") {
		t.Errorf("preview: author.email's hint = %q, want it highlighted with the kind email", hint)
	}
	if got := p.text("#preview-hints"); !strings.Contains(got, "author.email") || !strings.Contains(got, "email") {
		t.Errorf("preview hints = %q, want author.email named as email", got)
	}
	if got := p.text("#preview-request"); !strings.Contains(got, "summary") {
		t.Errorf("preview request phase = %q, want summary named as absent", got)
	}
	if got := p.text("#preview-request .preview-index"); !strings.Contains(got, "title_bidx") || strings.Contains(got, "Hello") {
		t.Errorf("preview blind index = %q, want title_bidx named, never the value", got)
	}
	if !js[bool](p, "reading the response highlights", `!!document.querySelector('#preview-doc-response .pv-transform[data-path="title"]')`) {
		t.Errorf("preview: the answer's title is not highlighted as transformed")
	}
	if !js[bool](p, "reading the matched row", `document.querySelector('tr[data-route-id="`+s.posts+`"]').classList.contains("route-matched")`) {
		t.Errorf("preview: the matched route's row is not marked")
	}
	p.screenshotAt(s.shots, "routes-preview", "#preview-result")

	// Without the required title, the proxy would answer 422.
	p.setValue("pasting a body without title", "#preview-body", `{"body": "World"}`)
	p.setValue("no upstream answer", "#preview-response", "")
	p.click("previewing again", "#preview-run")
	p.wait("the missing title", `document.querySelector("#preview-request .preview-missing") && document.querySelector("#preview-request .preview-missing").textContent.includes("title")`)

	// /posts/drafts, moved first, now applies to its path.
	p.setValue("typing the drafts path", "#preview-path", "/posts/drafts")
	p.click("previewing the drafts path", "#preview-run")
	p.wait("the drafts route", `document.querySelector("#preview-route").textContent.includes("/posts/drafts")`)
	p.screenshot(s.shots, "routes")
}

// deleteInUse: deleting the unused card works; deleting pii, which a route
// and a key name, is refused and the dialog names both and links to the
// Routes tab, where a route is deleted.
func (s *scenario) deleteInUse() {
	t, p := s.t, s.p
	var scoped struct {
		ID string `json:"id"`
	}
	if st := s.srv.admin(t, "POST", "/admin/v1/projects/"+s.project+"/keys",
		map[string]any{"name": "pii-reader", "permissions": []string{"decrypt_masked"}, "classifications": []string{"pii"}}, &scoped); st != 201 {
		t.Fatalf("creating a key limited to pii through the admin API: status %d, want 201", st)
	}
	p.click("opening the Classifications tab again", "#tab-classifications")
	p.click("asking to delete card", `tr[data-slug="card"] button.delete`)
	p.click("confirming", "dialog[open] button.danger")
	p.wait("card deleted", `!document.querySelector("dialog") && !document.querySelector('tr[data-slug="card"]')`)
	if st := s.srv.admin(t, "GET", "/admin/v1/projects/"+s.project+"/classifications/card", nil, nil); st != 404 {
		t.Errorf("GET …/classifications/card after deleting it = %d, want 404", st)
	}

	p.click("asking to delete pii", `tr[data-slug="pii"] button.delete`)
	p.click("confirming", "dialog[open] button.danger")
	p.wait("the refusal explained, with the route's path", `document.querySelector("dialog[open] .error:not([hidden]) .in-use") && document.querySelector("dialog[open] .in-use").textContent.includes("/posts/**")`)
	msg := p.text("dialog[open] .error")
	for _, want := range []string{"classification_in_use", "409", s.posts, scoped.ID, "pii-reader", "Routes tab", "API Keys tab"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the in-use explanation = %q, want it to name %q", msg, want)
		}
	}
	p.screenshot(s.shots, "classifications-in-use")
	if st := s.srv.admin(t, "GET", "/admin/v1/projects/"+s.project+"/classifications/pii", nil, nil); st != 200 {
		t.Errorf("GET …/classifications/pii after the refused delete = %d, want 200", st)
	}

	p.click("following the link to the Routes tab", "dialog[open] .in-use a[href$='/routes']")
	p.wait("the Routes tab, the dialog closed", `!document.querySelector("dialog") && document.querySelector("#tab-routes").getAttribute("aria-selected") === "true" && document.querySelector("#route-count").textContent === "2 routes"`)
	p.click("asking to delete /posts/drafts", `tr[data-route-id="`+s.drafts+`"] button.delete`)
	p.wait("the confirmation with focus on Cancel", `document.querySelector("dialog[open]") && document.activeElement.textContent === "Cancel"`)
	p.click("confirming", "dialog[open] button.danger")
	p.wait("the route deleted", `!document.querySelector("dialog") && document.querySelector("#route-count").textContent === "1 route"`)
	if rs := s.listRoutes(); len(rs) != 1 || rs[0].ID != s.posts {
		t.Errorf("routes after deleting /posts/drafts = %+v, want /posts/** alone", rs)
	}
}
