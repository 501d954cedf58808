package console

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Helpers that drive one Chromium tab with chromedp.

const (
	browserDeadline = 60 * time.Second // the whole browser scenario
	waitDeadline    = 10 * time.Second // one thing to appear on the page
)

// chromiumPath finds Debian's Chromium. Without it the test fails in CI
// (CI=true), where .ci/run installs it, and is skipped elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "Chromium is not installed (looked for /usr/bin/chromium, chromium, chromium-browser); " +
		"install it with: apt-get update && apt-get install -y chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(why + " (.ci/run does this in CI)")
	}
	t.Skip(why)
	return ""
}

// page is one headless Chromium tab. It records uncaught exceptions and
// console/security errors, which fail the test at the end.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

// newPage starts a headless Chromium with a fresh profile and a
// width×height viewport. It is stopped when the test ends.
func newPage(t *testing.T, chromium string, width, height int64, mobile bool) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(width), int(height)),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, browserDeadline)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	p := &page{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("starting Chromium %s: %v", chromium, err)
	}
	var emu []chromedp.EmulateViewportOption
	if mobile {
		emu = append(emu, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	p.do("setting up the tab",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
			return err
		}),
		chromedp.EmulateViewport(width, height, emu...))
	return p
}

// record keeps what went wrong on the page. Failed requests (the
// "network" source) are left out: the console shows API errors itself.
func (p *page) record(ev any) {
	var s string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		s = "uncaught exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			s += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			s = fmt.Sprintf("console.%s called", ev.Type)
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Source != cdplog.EntrySourceNetwork && ev.Entry.Level == cdplog.EntryLevelError {
			s = fmt.Sprintf("%s error: %s", ev.Entry.Source, ev.Entry.Text)
		}
	}
	if s != "" {
		p.mu.Lock()
		p.problems = append(p.problems, s)
		p.mu.Unlock()
	}
}

// checkProblems fails the test for each exception or error the page had.
func (p *page) checkProblems() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		p.t.Errorf("the page reported: %s", s)
	}
}

// do runs actions; an error fails the test, naming the step and showing
// what the page says.
func (p *page) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", step, err, p.mainText())
	}
}

// js evaluates expression and decodes its value into T.
func js[T any](p *page, step, expression string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", step, expression, err)
	}
	return v
}

// wait polls the JavaScript predicate until it is truthy. On timeout it
// fails the test with the step and what the page shows.
func (p *page) wait(step, predicate string) {
	p.t.Helper()
	if err := p.tryWait(predicate, waitDeadline); err != nil {
		p.t.Fatalf("%s: waited %v for %s: %v\npage text:\n%s", step, waitDeadline, predicate, err, p.mainText())
	}
}

// tryWait is wait without failing the test.
func (p *page) tryWait(predicate string, within time.Duration) error {
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(within)))
	return err
}

// text is the textContent of the first element matching the CSS selector
// (trimmed), or "" when none does.
func (p *page) text(sel string) string {
	p.t.Helper()
	return strings.TrimSpace(js[string](p, "reading "+sel,
		`(document.querySelector(`+jsString(sel)+`) || {textContent: ""}).textContent`))
}

// mainText is what the page shows, for failure messages.
func (p *page) mainText() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// click clicks the element matching the CSS selector once it is visible.
func (p *page) click(step, sel string) {
	p.t.Helper()
	p.do(step, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto focuses the input matching sel, empties it and types text as
// key presses.
func (p *page) typeInto(step, sel, text string) {
	p.t.Helper()
	p.do(step,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(sel)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

// setValue sets the value of the control matching sel and fires input
// and change, as a user's edit would.
func (p *page) setValue(step, sel, value string) {
	p.t.Helper()
	p.do(step, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Evaluate[chromedp.Void](`(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		el.value = `+jsString(value)+`;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
	})()`))
}

// screenshot saves the viewport as docs/console-<name><suffix>.png when
// shots is on (see screenshotMode).
func (p *page) screenshot(shots shotMode, name string) {
	p.t.Helper()
	p.shoot(shots, name, "scrolling to the top", `window.scrollTo(0, 0)`)
}

// screenshotAt is screenshot with the element matching sel scrolled to the
// top of the viewport.
func (p *page) screenshotAt(shots shotMode, name, sel string) {
	p.t.Helper()
	p.shoot(shots, name, "scrolling to "+sel, `document.querySelector(`+jsString(sel)+`).scrollIntoView()`)
}

func (p *page) shoot(shots shotMode, name, step, scroll string) {
	p.t.Helper()
	if !shots.on || (shots.only != nil && !shots.only[name]) {
		return
	}
	p.do(step, chromedp.Evaluate[chromedp.Void](scroll))
	img, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "docs", "console-"+name+shots.suffix+".png")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		p.t.Fatalf("writing %s: %v", path, err)
	}
	p.t.Logf("wrote %s", path)
}

// shotMode says whether and at which size screenshots are written.
// SDPROXY_SCREENSHOTS=1 writes docs/console-<name>.png at 1280×800;
// SDPROXY_SCREENSHOTS=phone runs at 390×844 and writes
// docs/console-<name>-phone.png for the few that docs/console.md shows.
// Unset (as in CI), nothing is written.
type shotMode struct {
	on            bool
	only          map[string]bool // nil: every screenshot
	suffix        string
	width, height int64
	mobile        bool
}

func screenshotMode() shotMode {
	switch os.Getenv("SDPROXY_SCREENSHOTS") {
	case "":
		return shotMode{width: 1280, height: 800}
	case "phone":
		return shotMode{on: true, only: map[string]bool{"keys-create": true, "keys-list": true, "events": true, "routes-preview": true, "subjects": true, "subjects-erase": true},
			suffix: "-phone", width: 390, height: 844, mobile: true}
	default:
		return shotMode{on: true, width: 1280, height: 800}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
