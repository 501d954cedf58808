package console

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// serve runs one request through the console handler, in memory.
func serve(t *testing.T, method, uri string) *fasthttp.Response {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	New().Handler(&ctx)
	resp := new(fasthttp.Response)
	ctx.Response.CopyTo(resp)
	return resp
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name, method, uri string
		status            int
		ctype             string // prefix of Content-Type; "" means not checked
		body              string // substring of the body; "" means not checked
	}{
		{"index", "GET", "/ui/", 200, "text/html", `<script type="module" src="js/app.js">`},
		{"index by name", "GET", "/ui/index.html", 200, "text/html", "sdproxy console"},
		{"module", "GET", "/ui/js/app.js", 200, "text/javascript", "import"},
		{"stylesheet", "GET", "/ui/app.css", 200, "text/css", ":root"},
		{"head", "HEAD", "/ui/app.css", 200, "text/css", ""},
		{"missing", "GET", "/ui/nope.js", 404, "application/json", `{"error":{"code":"not_found","message":"no such resource","request_id":"ui_`},
		{"directory", "GET", "/ui/js/", 404, "application/json", `"code":"not_found"`},
		{"dot-dot stays inside", "GET", "/ui/../console.go", 404, "application/json", `"code":"not_found"`},
		{"post", "POST", "/ui/", 405, "application/json", `{"error":{"code":"method_not_allowed","message":"method not allowed on this path","request_id":"ui_`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, tc.method, tc.uri)
			if resp.StatusCode() != tc.status {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.uri, resp.StatusCode(), tc.status)
			}
			if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("%s %s Content-Type = %q, want %s…", tc.method, tc.uri, ct, tc.ctype)
			}
			if !strings.Contains(string(resp.Body()), tc.body) {
				t.Errorf("%s %s body does not contain %q", tc.method, tc.uri, tc.body)
			}
			if id := string(resp.Header.Peek("X-Qanapi-Request-Id")); !strings.HasPrefix(id, "ui_") {
				t.Errorf("%s %s X-Qanapi-Request-Id = %q, want a request id on every answer", tc.method, tc.uri, id)
			}
			if tc.status != 200 {
				if code := string(resp.Header.Peek("X-Qanapi-Error-Code")); !strings.Contains(tc.body, `"`+code+`"`) {
					t.Errorf("%s %s X-Qanapi-Error-Code = %q, want the body's code", tc.method, tc.uri, code)
				}
				return
			}
			for name, want := range map[string]string{
				"Content-Security-Policy":    "script-src 'self'; style-src 'self'",
				"X-Content-Type-Options":     "nosniff",
				"X-Frame-Options":            "DENY",
				"Referrer-Policy":            "no-referrer",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Cache-Control":              "no-cache",
			} {
				if got := string(resp.Header.Peek(name)); !strings.Contains(got, want) {
					t.Errorf("%s %s header %s = %q, want it to contain %q", tc.method, tc.uri, name, got, want)
				}
			}
		})
	}
}

// The CSP forbids inline scripts and styles, and the console must never
// parse API text as HTML nor keep secrets outside sessionStorage. These
// rules are cheap to check on the source, so a slip fails here before it
// reaches a browser.
var (
	inlineScriptRE = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	htmlForbidden  = []*regexp.Regexp{
		regexp.MustCompile(`(?i)<style\b`),                 // inline stylesheet
		regexp.MustCompile(`(?i)\sstyle\s*=`),              // inline style attribute
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),           // inline event handler
		regexp.MustCompile(`(?i)(src|href)="(https?:)?//`), // anything fetched from outside
	}
	jsForbidden = map[string]string{
		"innerHTML":                "API text must go in as text (textContent / text nodes)",
		"outerHTML":                "API text must go in as text",
		"insertAdjacentHTML":       "API text must go in as text",
		"document.write":           "API text must go in as text",
		"localStorage":             "secrets live in sessionStorage only",
		"document.cookie":          "secrets never go in cookies",
		"console.":                 "nothing is logged: a secret could end up in the console",
		"eval(":                    "the CSP forbids eval",
		"new Function":             "the CSP forbids eval",
		".style.":                  "styles live in app.css",
		"setAttribute('style'":     "styles live in app.css",
		"location.search":          "nothing secret travels in the address",
		"URLSearchParams(location": "nothing secret travels in the address",
	}
	importRE = regexp.MustCompile(`(?m)from '([^']+)';$`)
	linkRE   = regexp.MustCompile(`(?:src|href)="([^"#:]+)"`)
)

func TestStaticFiles(t *testing.T) {
	root, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		src := string(b)
		switch path.Ext(name) {
		case ".html":
			checkHTML(t, root, name, src)
		case ".js":
			checkJS(t, root, name, src)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkHTML(t *testing.T, root fs.FS, name, src string) {
	for _, tag := range inlineScriptRE.FindAllString(src, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("%s: inline script %s: the CSP allows only script files", name, tag)
		}
	}
	for _, re := range htmlForbidden {
		if m := re.FindString(src); m != "" {
			t.Errorf("%s: %q is not allowed (CSP: no inline styles or handlers; nothing from outside)", name, m)
		}
	}
	for _, m := range linkRE.FindAllStringSubmatch(src, -1) {
		if _, err := fs.Stat(root, path.Join(path.Dir(name), m[1])); err != nil {
			t.Errorf("%s links %s, which is not embedded", name, m[1])
		}
	}
}

func checkJS(t *testing.T, root fs.FS, name, src string) {
	for i, line := range strings.Split(src, "\n") {
		code := strings.TrimSpace(line)
		if strings.HasPrefix(code, "//") || strings.HasPrefix(code, "*") || strings.HasPrefix(code, "/*") {
			continue
		}
		for bad, why := range jsForbidden {
			if strings.Contains(code, bad) {
				t.Errorf("%s:%d uses %s: %s", name, i+1, bad, why)
			}
		}
	}
	for _, m := range importRE.FindAllStringSubmatch(src, -1) {
		if !strings.HasPrefix(m[1], "./") {
			t.Errorf("%s imports %s: only the embedded modules (./…) may be imported", name, m[1])
			continue
		}
		if _, err := fs.Stat(root, path.Join(path.Dir(name), m[1])); err != nil {
			t.Errorf("%s imports %s, which is not embedded", name, m[1])
		}
	}
}
