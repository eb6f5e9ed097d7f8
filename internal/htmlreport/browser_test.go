package htmlreport_test

// Browser tests: the pages open in Debian's Chromium, headless, driven
// through the DevTools protocol by chromedp. They skip where Chromium is
// not installed, and fail instead in CI (internal/testenv).

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/htmlreport"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules/gate"
)

// ArtifactsVar names a directory where the browser tests leave a
// screenshot of every page they open (CI keeps it); without it the
// screenshots go to the test's temporary directory.
const ArtifactsVar = "LAYERLINT_ARTIFACTS"

// browser is one headless Chromium for a test, with what its pages did.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	// problems are console errors, exceptions, browser log errors and
	// dialogs; requests every URL the tab asked for.
	problems []string
	requests []string
}

// newBrowser starts Chromium with a fresh profile and everything that
// could reach the network turned off (the machine has none anyway).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := testenv.LookPath(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // we run as root in CI; the pages are our own
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	b.ctx = ctx
	// A headless tab is not the focused window: without this, focus()
	// moves document.activeElement but fires no focus event.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		// A dialog would block the page: note it and dismiss it.
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.note("dialog opened: " + ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

func (b *browser) note(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// listen runs in the tab's read loop: it only records.
func (b *browser) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.note("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.note(fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			b.note("browser log " + string(ev.Entry.Level) + ": " + ev.Entry.Text + " " + ev.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		b.mu.Lock()
		b.requests = append(b.requests, ev.Request.URL)
		b.mu.Unlock()
	}
}

// open writes the page to a file, loads it and waits until its script has
// drawn everything. It fails the test on any console error, exception or
// dialog, and on any request but the page itself.
func (b *browser) open(t *testing.T, name string, html []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".html")
	if err := os.WriteFile(path, html, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + path
	b.mu.Lock()
	b.problems, b.requests = nil, nil
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
	); err != nil {
		t.Fatalf("loading %s: %v (problems: %v)", name, err, b.problems)
	}
	b.check(t, url)
	return url
}

// check fails on problems and requests so far.
func (b *browser) check(t *testing.T, url string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("%s: %s", url, p)
	}
	for _, r := range b.requests {
		if r != url {
			t.Errorf("%s: the page requested %s", url, r)
		}
	}
}

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func do(t *testing.T, b *browser, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// screenshot saves the whole page as PNG, the test's artifact.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv(ArtifactsVar)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// No tooltip left over from the last focus or hover.
	eval[bool](t, b, `(() => { if (document.activeElement) document.activeElement.blur(); document.getElementById('tip').hidden = true; return true })()`)
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, "htmlreport-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func render(t *testing.T, kind htmlreport.Kind, images []htmlreport.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Write(&buf, kind, images, htmlreport.Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type barFigures struct {
	Layer      string `json:"layer"`
	Content    string `json:"content"`
	Surviving  string `json:"surviving"`
	Wasted     string `json:"wasted"`
	Hides      string `json:"hides"`
	Compressed string `json:"compressed"`
	Base       string `json:"base"`
}

// TestBrowserAnalyze: the analyze page of the sample loads cleanly, draws
// one bar per layer with the report's figures, and its map zooms by mouse
// and by keyboard.
func TestBrowserAnalyze(t *testing.T) {
	b := newBrowser(t)
	analyzed, _ := pages(t, fixtures.Sample(), "sample")
	url := b.open(t, "analyze", render(t, htmlreport.KindAnalyze, analyzed))
	r := analyzed[0].Report

	bars := eval[[]barFigures](t, b, `[...document.querySelectorAll('.track')].map(e => ({...e.dataset}))`)
	if len(bars) != len(r.Layers) {
		t.Fatalf("%d bars, want one per layer (%d)", len(bars), len(r.Layers))
	}
	for i, l := range r.Layers {
		want := barFigures{
			Layer: fmt.Sprint(l.Index), Content: fmt.Sprint(l.ContentBytes), Surviving: fmt.Sprint(l.ContentBytes - l.WastedBytes),
			Wasted: fmt.Sprint(l.WastedBytes), Hides: fmt.Sprint(l.HiddenBytes), Compressed: fmt.Sprint(l.CompressedSize), Base: "0",
		}
		if l.Base {
			want.Base = "1"
		}
		if bars[i] != want {
			t.Errorf("bar %d: %+v, want %+v", i, bars[i], want)
		}
	}
	// The segments of a bar add up to its figures.
	sum := eval[[]int64](t, b, `[...document.querySelectorAll('.track')].map(e => [...e.children].reduce((a, s) => a + Number(s.dataset.bytes), 0))`)
	for i, l := range r.Layers {
		if want := l.ContentBytes + l.HiddenBytes; sum[i] != want {
			t.Errorf("bar %d: segments hold %d bytes, want content + hides = %d", i, sum[i], want)
		}
	}
	if n := eval[int](t, b, `document.querySelectorAll('.lab .badge').length`); n != r.Image.Base.Layers {
		t.Errorf("%d layers marked base, want %d", n, r.Image.Base.Layers)
	}

	// Focusing a bar shows its history and digest.
	do(t, b, chromedp.Focus(chromedp.CSS(`.track[data-layer="1"]`)))
	tip := eval[string](t, b, `document.getElementById('tip').hidden ? '' : document.getElementById('tip').textContent`)
	if !strings.Contains(tip, r.Layers[1].CreatedBy) || !strings.Contains(tip, r.Layers[1].Digest) {
		t.Errorf("tooltip of layer 1 %q lacks its created_by or digest", tip)
	}

	// Clicking a directory zooms the map into it; the breadcrumb leads back.
	cur := func() string { return eval[string](t, b, `document.getElementById('map-0').dataset.current`) }
	if got := cur(); got != "/" {
		t.Fatalf("the map starts at %q, want /", got)
	}
	// (on its name: a click inside it lands on the subdirectory drawn there)
	do(t, b, chromedp.Click(chromedp.CSS(`#map-0 > .cell[data-path="/usr/"] > .nm`)))
	if got := cur(); got != "/usr/" {
		t.Errorf("after clicking /usr/ the map shows %q", got)
	}
	if got := eval[[]string](t, b, `[...document.querySelectorAll('#map-0 > .cell')].map(e => e.dataset.path)`); len(got) == 0 || got[0] != "/usr/bin/" {
		t.Errorf("zoomed into /usr/: cells %v, want /usr/bin/ first", got)
	}
	crumbs := eval[[]string](t, b, `[...document.querySelectorAll('.crumbs button')].map(e => e.textContent)`)
	if len(crumbs) != 2 {
		t.Errorf("breadcrumb %v, want root and usr", crumbs)
	}
	do(t, b, chromedp.Click(chromedp.CSS(`.crumbs button`)))
	if got := cur(); got != "/" {
		t.Errorf("after the root crumb the map shows %q", got)
	}
	// The keyboard does the same: Enter zooms, Backspace goes up.
	do(t, b, chromedp.Focus(chromedp.CSS(`#map-0 > .cell[data-path="/app/"]`)), chromedp.KeyEvent("\r"))
	if got := cur(); got != "/app/" {
		t.Errorf("after Enter on /app/ the map shows %q", got)
	}
	if f := eval[string](t, b, `document.activeElement.dataset.path || ''`); !strings.HasPrefix(f, "/app/") {
		t.Errorf("after zooming the focus is on %q, want a cell of /app/", f)
	}
	do(t, b, chromedp.KeyEvent("\b"))
	if got := cur(); got != "/" {
		t.Errorf("after Backspace the map shows %q", got)
	}
	// Arrows move the focus from cell to cell.
	first := eval[string](t, b, `document.activeElement.dataset.path || ''`)
	do(t, b, chromedp.KeyEvent(kb.ArrowRight))
	if next := eval[string](t, b, `document.activeElement.dataset.path || ''`); next == first || next == "" {
		t.Errorf("ArrowRight moved the focus from %q to %q", first, next)
	}

	// The wasted-paths table filters by cause.
	rows := func() int {
		return eval[int](t, b, `document.querySelectorAll('table[data-table="waste"] tbody tr.row').length`)
	}
	if got := rows(); got != len(r.TopWaste) {
		t.Errorf("%d waste rows, want %d", got, len(r.TopWaste))
	}
	setSelect(t, b, `select[data-filter="cause"]`, "deleted")
	want := 0
	for _, g := range r.TopWaste {
		if g.Cause == "deleted" {
			want++
		}
	}
	if got := rows(); got != want {
		t.Errorf("filtered on deleted: %d rows, want %d", got, want)
	}
	b.check(t, url)
	b.screenshot(t, "analyze")

	// The dark scheme changes the colours the page draws with.
	light := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`)
	b.scheme(t, "dark")
	if dark := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`); dark == light {
		t.Errorf("the body is %s in both schemes", dark)
	}
	b.screenshot(t, "analyze-dark")
	b.scheme(t, "light")
}

// scheme emulates prefers-color-scheme.
func (b *browser) scheme(t *testing.T, s string) {
	t.Helper()
	params := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}}}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, params); err != nil {
		t.Fatal(err)
	}
}

func setSelect(t *testing.T, b *browser, sel, value string) {
	t.Helper()
	eval[bool](t, b, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change')); return true })()`, sel, value))
}

// TestBrowserLint: the lint page shows one row per problem, ranked and
// split as in the text output (the base image's apart); each opens onto
// its findings; the filters by rule, layer and path (typed at the
// keyboard) work.
func TestBrowserLint(t *testing.T) {
	b := newBrowser(t)
	_, linted := pages(t, fixtures.DebianPython(), "debian-python")
	url := b.open(t, "lint", render(t, htmlreport.KindLint, linted))
	res := linted[0].Lint

	rows := func() int {
		return eval[int](t, b, `document.querySelectorAll('table[data-table="findings"] tbody tr.row').length`)
	}
	if got := rows(); got != len(res.Groups) {
		t.Errorf("%d rows, want one per problem (%d)", got, len(res.Groups))
	}
	sections := eval[[]string](t, b, `[...document.querySelectorAll('table[data-table="findings"] tr.group')].map(e => e.textContent)`)
	if len(sections) != 2 || !strings.HasPrefix(sections[0], "Top findings") || !strings.HasPrefix(sections[1], "Inherited from the base image") {
		t.Errorf("sections %q: want the top findings, then the inherited ones, as in the text output", sections)
	}
	first := eval[string](t, b, `document.querySelector('table[data-table="findings"] tbody tr.row .path').textContent`)
	if first != res.Groups[0].Path || !strings.HasPrefix(first, "/var/cache/apt/archives") {
		t.Errorf("first row %q, want the largest saving, %q", first, res.Groups[0].Path)
	}
	// A group of many findings opens onto them.
	var many int
	for i, g := range res.Groups {
		if g.Findings > 1 && !g.Inherited {
			many = i
			break
		}
	}
	opened := eval[int](t, b, fmt.Sprintf(`(() => {
		const row = [...document.querySelectorAll('table[data-table="findings"] tbody tr.row')].find(r =>
			r.querySelector('.path') && r.querySelector('.path').textContent === %q && r.cells[1].textContent === %q);
		row.querySelector('button.toggle').click();
		const d = row.nextElementSibling;
		return d.hidden ? -1 : d.querySelectorAll('li').length })()`, res.Groups[many].Path, res.Groups[many].Rule))
	if opened != res.Groups[many].Findings {
		t.Errorf("group %s opens onto %d findings, want %d", res.Groups[many].Path, opened, res.Groups[many].Findings)
	}
	count := func(keep func(g gate.Group) bool) int {
		n := 0
		for _, g := range res.Groups {
			if keep(g) {
				n++
			}
		}
		return n
	}
	setSelect(t, b, `select[data-filter="rule"]`, "LL004")
	if got, want := rows(), count(func(g gate.Group) bool { return g.Rule == "LL004" }); got != want || want == 0 {
		t.Errorf("rule LL004: %d rows, want %d", got, want)
	}
	setSelect(t, b, `select[data-filter="rule"]`, "")
	setSelect(t, b, `select[data-filter="layer"]`, "1")
	if got, want := rows(), count(func(g gate.Group) bool { return g.Layer == 1 }); got != want || want == 0 {
		t.Errorf("layer 1: %d rows, want %d", got, want)
	}
	setSelect(t, b, `select[data-filter="layer"]`, "")
	do(t, b, chromedp.SendKeys(chromedp.CSS(`input[data-filter="path"]`), "dpkg"))
	if got, want := rows(), count(func(g gate.Group) bool {
		for _, m := range g.Members {
			if strings.Contains(res.Findings[m].Path, "dpkg") {
				return true
			}
		}
		return strings.Contains(g.Path, "dpkg")
	}); got != want || want == 0 {
		t.Errorf("path dpkg: %d rows, want %d", got, want)
	}
	// Sorting by bytes puts the largest first within each section.
	do(t, b, chromedp.Click(chromedp.CSS(`table[data-table="findings"] th:nth-child(4) button`)))
	if got := eval[string](t, b, `document.querySelector('table[data-table="findings"] th:nth-child(4)').getAttribute('aria-sort') || ''`); got != "descending" {
		t.Errorf("bytes column sorted %q, want descending", got)
	}
	b.check(t, url)
	b.screenshot(t, "lint")
}

// TestBrowserHostile: file names and created_by holding </script>, HTML
// with event handlers and invalid UTF-8 show as text; nothing runs, no
// dialog opens, nothing is fetched.
func TestBrowserHostile(t *testing.T) {
	b := newBrowser(t)
	analyzed, linted := pages(t, hostile(), "hostile</script><script>window.__pwned=9</script>")
	var diffBuf bytes.Buffer
	o, n, r := diffPage(t, fixtures.Sample(), hostile(), "sample", "hostile</script><script>window.__pwned=9</script>")
	if err := htmlreport.WriteDiff(&diffBuf, o, n, r, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind htmlreport.Kind
		page []byte
	}{
		{htmlreport.KindAnalyze, render(t, htmlreport.KindAnalyze, analyzed)},
		{htmlreport.KindLint, render(t, htmlreport.KindLint, linted)},
		{htmlreport.KindDiff, diffBuf.Bytes()},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			url := b.open(t, "hostile-"+string(tc.kind), tc.page)
			// Hover every cell and bar so that tooltips draw the names too.
			eval[bool](t, b, `(() => { document.querySelectorAll('.track, .cell').forEach(e => { e.dispatchEvent(new MouseEvent('mousemove', {clientX: 5, clientY: 5})); e.dispatchEvent(new FocusEvent('focus')) }); return true })()`)
			if got := eval[string](t, b, `String(window.__pwned)`); got != "undefined" {
				t.Errorf("window.__pwned = %s: the payload ran", got)
			}
			if n := eval[int](t, b, `document.querySelectorAll('img, script:not([type]), iframe, object, embed').length`); n != 1 {
				t.Errorf("%d img/script/iframe elements, want only the page's own script", n)
			}
			text := eval[string](t, b, `document.body.innerText + document.getElementById('tip').textContent`)
			want := []string{"RUN " + payloadScript, `bad\xffname\u2028x`}
			switch tc.kind {
			case htmlreport.KindLint, htmlreport.KindDiff:
				want = append(want, "/app/"+payloadImg, "/app/x"+payloadScript)
			case htmlreport.KindAnalyze:
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("the page does not show %q as text", w)
				}
			}
			if title := eval[string](t, b, `document.querySelector('h1').textContent`); !strings.Contains(title, "hostile</script><script>window.__pwned=9</script>") {
				t.Errorf("title %q", title)
			}
			b.check(t, url)
			b.screenshot(t, "hostile-"+string(tc.kind))
		})
	}
}

// TestBrowserLarge: an image of many files reaches the page folded, the
// browser draws no more cells than the page carries, and zooming into a
// directory whose children were folded still works.
func TestBrowserLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image of 20,000 files")
	}
	b := newBrowser(t)
	analyzed, _ := pages(t, fixtures.Large(1, 20_000, 4_000_000, 5), "large")
	page := render(t, htmlreport.KindAnalyze, analyzed)
	url := b.open(t, "large", page)
	nodes := eval[int](t, b, `JSON.parse(document.getElementById('report-data').textContent).images[0].tree.length`)
	if nodes > htmlreport.DefaultMaxNodes || nodes < htmlreport.DefaultMaxNodes/2 {
		t.Errorf("the page carries %d map nodes, want at most %d and most of them used", nodes, htmlreport.DefaultMaxNodes)
	}
	cells := eval[int](t, b, `document.querySelectorAll('#map-0 .cell').length`)
	if cells == 0 || cells > nodes {
		t.Errorf("%d cells drawn for %d nodes", cells, nodes)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#map-0 .cell.k-o').length`); n == 0 {
		t.Error("no folded \"other\" cell drawn for 20,000 files")
	}
	// Zoom into the largest directory, then the largest below it.
	for range 2 {
		before := eval[string](t, b, `document.getElementById('map-0').dataset.current`)
		do(t, b, chromedp.Click(chromedp.CSS(`#map-0 > .cell.zoom > .nm`)))
		if after := eval[string](t, b, `document.getElementById('map-0').dataset.current`); after == before || !strings.HasPrefix(after, before) {
			t.Errorf("zoom from %s went to %s", before, after)
		}
	}
	b.check(t, url)
	b.screenshot(t, "large")
	t.Logf("page: %d bytes, %d map nodes, %d cells drawn at the root", len(page), nodes, cells)
}

// TestBrowserDiff: the diff page shows both images on one scale with the
// shared layers marked, the deltas, the changes by directory (filterable
// by kind, each opening onto its largest changes), and the findings new
// and fixed.
func TestBrowserDiff(t *testing.T) {
	b := newBrowser(t)
	pair := basePair(t)
	o, n, r := diffPage(t, pair.Old, pair.New, "app:v1", "app:v2")
	var buf bytes.Buffer
	if err := htmlreport.WriteDiff(&buf, o, n, r, htmlreport.Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	url := b.open(t, "diff", buf.Bytes())

	for _, side := range []struct {
		name   string
		layers int
	}{{"old", len(o.Analysis.Report.Layers)}, {"new", len(n.Analysis.Report.Layers)}} {
		if got := eval[int](t, b, `document.querySelectorAll('[data-side="`+side.name+`"] .track').length`); got != side.layers {
			t.Errorf("%s side: %d bars, want %d", side.name, got, side.layers)
		}
	}
	shared := eval[int](t, b, `document.querySelectorAll('[data-side="new"] .badge.mark-shared').length`)
	if shared != r.SharedLayers {
		t.Errorf("%d layers marked shared, want %d", shared, r.SharedLayers)
	}
	// A shared layer has the same length on both sides: one scale.
	widths := eval[[]float64](t, b, `['old', 'new'].map(s => {
		const row = [...document.querySelectorAll('[data-side="' + s + '"] .lrow')].find(r => r.querySelector('.mark-shared'));
		return [...row.querySelector('.track').children].reduce((a, e) => a + e.getBoundingClientRect().width, 0) })`)
	if len(widths) != 2 || math.Abs(widths[0]-widths[1]) > 0.5 {
		t.Errorf("a shared layer is %v wide on the two sides, want equal", widths)
	}
	for id, want := range map[string]int64{
		"delta-download": r.Total.Compressed.Delta, "delta-above": r.Above.Compressed.Delta,
		"delta-base": r.Base.Compressed.Delta, "delta-merged": r.Files.Merged.Delta, "delta-wasted": r.Waste.Total.Delta,
	} {
		if got := eval[string](t, b, `document.getElementById('`+id+`').dataset.delta`); got != fmt.Sprint(want) {
			t.Errorf("%s: %s, want %d", id, got, want)
		}
	}
	if got := eval[string](t, b, `document.getElementById('diff-base').textContent`); r.BaseChanged != strings.HasPrefix(got, "base image changed") {
		t.Errorf("base line %q, base changed %v", got, r.BaseChanged)
	}
	rows := func() []string {
		return eval[[]string](t, b, `[...document.querySelectorAll('table[data-table="changes"] tbody tr.row')].map(r => r.cells[0].textContent + ' ' + r.querySelector('.path').textContent)`)
	}
	if got := rows(); len(got) != len(r.Files.Dirs) {
		t.Errorf("changes %q: want one row per directory (%d)", got, len(r.Files.Dirs))
	}
	kinds := map[string]int{}
	for _, row := range rows() {
		kind, _, _ := strings.Cut(row, " ")
		kinds[kind]++
	}
	for kind, want := range kinds {
		setSelect(t, b, `select[data-filter="kind"]`, kind)
		if got := len(rows()); got != want {
			t.Errorf("kind %s: %d rows, want %d", kind, got, want)
		}
	}
	setSelect(t, b, `select[data-filter="kind"]`, "")
	opened := eval[int](t, b, `(() => { const row = document.querySelector('table[data-table="changes"] tbody tr.row');
		row.querySelector('button.toggle').click(); return row.nextElementSibling.hidden ? -1 : row.nextElementSibling.querySelectorAll('li').length })()`)
	if opened != len(r.Files.Dirs[0].Largest) {
		t.Errorf("the first directory opens onto %d changes, want %d", opened, len(r.Files.Dirs[0].Largest))
	}
	if got, want := eval[int](t, b, `document.querySelectorAll('table[data-table="diff-findings"] tbody tr.row').length`), len(r.Findings.New)+len(r.Findings.Fixed); got != want || want == 0 {
		t.Errorf("%d findings new and fixed, want %d", got, want)
	}
	b.check(t, url)
	b.screenshot(t, "diff")
}

// TestBrowserDiffLinks: a retargeted symlink shows its old and new
// targets, escaped, where a file shows its sizes.
func TestBrowserDiffLinks(t *testing.T) {
	b := newBrowser(t)
	pair := namedPair(t, "links")
	o, n, r := diffPage(t, pair.Old, pair.New, "app:v1", "app:v2")
	var buf bytes.Buffer
	if err := htmlreport.WriteDiff(&buf, o, n, r, htmlreport.Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	url := b.open(t, "diff-links", buf.Bytes())
	got := eval[[]string](t, b, `(() => { const row = document.querySelector('table[data-table="changes"] tbody tr.row');
		row.querySelector('button.toggle').click(); return [...row.nextElementSibling.querySelectorAll('li')].map(li => li.textContent) })()`)
	want := []string{
		`/app/config  link /etc/app.conf → 1.5 kB`,
		`/app/current  link releases/1 → link releases/2\x1b]0;pwned\a`,
		`/app/latest  link current`,
	}
	if len(got) != len(want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasSuffix(got[i], want[i]) {
			t.Errorf("change %q, want it to end in %q", got[i], want[i])
		}
	}
	b.check(t, url)
}

// TestBrowserEdges: a page of two images (--platform all), an image with
// no file at all and one with an empty layer load without an error.
func TestBrowserEdges(t *testing.T) {
	b := newBrowser(t)
	empty, _ := pages(t, fixtures.NewImage().Add(fixtures.NewLayer().Dir("etc")), "empty")
	sample, linted := pages(t, fixtures.Sample(), "sample")
	emptyLint := lintOf(t, imagetest.AnalyzeFixture(t, fixtures.NewImage().Add(fixtures.NewLayer()), "nothing"))
	for _, tc := range []struct {
		name   string
		kind   htmlreport.Kind
		images []htmlreport.Image
		bars   int
	}{
		{"two-images", htmlreport.KindAnalyze, append(empty, sample...), 1 + len(sample[0].Report.Layers)},
		{"empty", htmlreport.KindAnalyze, empty, 1},
		{"empty-lint", htmlreport.KindLint, []htmlreport.Image{{Report: emptyLint.Report, Lint: emptyLint}, linted[0]}, 1 + len(sample[0].Report.Layers)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := b.open(t, tc.name, render(t, tc.kind, tc.images))
			if n := eval[int](t, b, `document.querySelectorAll('.track').length`); n != tc.bars {
				t.Errorf("%d bars, want %d", n, tc.bars)
			}
			if n := eval[int](t, b, `document.querySelectorAll('section.image').length`); n != len(tc.images) {
				t.Errorf("%d sections, want %d", n, len(tc.images))
			}
			b.check(t, url)
		})
	}
}
