package diff_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/diff"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

var goldens = testsupport.NewGoldenFiles()

// TestUpdateIsOff fails while -update is given.
func TestUpdateIsOff(t *testing.T) { goldens.UpdateIsOff(t) }

// pinnedRules are the rules the golden files show, so that a rule added
// to package rules does not rewrite them.
func pinnedRules() []rules.Rule {
	var out []rules.Rule
	for _, r := range rules.All() {
		switch r.ID {
		case "LL001", "LL002", "LL003", "LL004", "LL005", "LL010":
			out = append(out, r)
		}
	}
	return out
}

func side(t *testing.T, img *fixtures.Image, name string) diff.Image {
	t.Helper()
	a := imagetest.AnalyzeFixture(t, img, name)
	g, err := gate.New(gate.Options{Rules: pinnedRules()})
	if err != nil {
		t.Fatal(err)
	}
	return diff.Image{Analysis: a, Lint: g.Evaluate(a)}
}

func comparePair(t *testing.T, p fixtures.DiffPair) *diff.Result {
	t.Helper()
	return diff.Compare(side(t, p.Old, p.Name+":old"), side(t, p.New, p.Name+":new"))
}

func TestGolden(t *testing.T) {
	t.Parallel()
	growth, err := diff.ParseGrowth("10%")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range fixtures.DiffPairs() {
		t.Run(p.Name, func(t *testing.T) {
			r := comparePair(t, p)
			r.Judge(diff.Gates{MaxGrowth: &growth, FailOnNew: rules.Warning})
			ext := map[diff.Format]string{diff.Text: "txt", diff.JSON: "json", diff.Markdown: "md"}
			for _, f := range diff.Formats() {
				t.Run(f.String(), func(t *testing.T) {
					var b, again bytes.Buffer
					if err := diff.Write(&b, f, r, diff.Options{}); err != nil {
						t.Fatal(err)
					}
					goldens.Check(t, p.Name+"."+ext[f], b.Bytes())
					if err := diff.Write(&again, f, r, diff.Options{}); err != nil || !bytes.Equal(b.Bytes(), again.Bytes()) {
						t.Errorf("second rendering differs (%v)", err)
					}
					if f == diff.JSON {
						validateSchema(t, b.Bytes())
					}
				})
			}
		})
	}
}

func validateSchema(t *testing.T, doc []byte) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile("../../docs/schema/diff.schema.json")
	if err != nil {
		t.Fatalf("compiling the schema: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("output does not match docs/schema/diff.schema.json: %v", err)
	}
}

// TestBaseUpdate checks the figures of the base-update pair against what
// the fixture was built to hold.
func TestBaseUpdate(t *testing.T) {
	t.Parallel()
	r := comparePair(t, fixtures.DiffPairs()[0])
	if !r.BaseChanged || r.SharedLayers != 1 {
		t.Errorf("baseChanged %v, shared %d; want the base changed and the deps layer shared", r.BaseChanged, r.SharedLayers)
	}
	var status []string
	for _, l := range r.Layers {
		status = append(status, l.Status.String())
	}
	if got := strings.Join(status, " "); got != "added removed shared added removed removed" {
		t.Errorf("layers %s", got)
	}
	kinds := map[string]diff.ChangeKind{}
	for _, d := range r.Files.Dirs {
		for _, c := range d.Largest {
			kinds[c.Path] = c.Kind
		}
	}
	want := map[string]diff.ChangeKind{
		"/app/helper.py": diff.Appeared, "/app/util.py": diff.Vanished, "/app/main.py": diff.Modified,
		"/root/.cache/pip/wheel.bin": diff.Appeared, "/usr/share/doc/libc/changelog": diff.Vanished,
		"/usr/lib/libc.so.6": diff.Modified,
	}
	for p, k := range want {
		if kinds[p] != k {
			t.Errorf("%s: %v, want %v", p, kinds[p], k)
		}
	}
	if r.Findings == nil || !hasFinding(r.Findings.New, "LL005", "/root/.cache/pip") || !hasFinding(r.Findings.Fixed, "LL002", "/tmp/build") {
		t.Errorf("findings %+v: want the pip cache new and the /tmp/build deletion fixed", r.Findings)
	}
	if len(r.Waste.Removed) == 0 || r.Waste.Removed[0].Path != "/tmp/build/" {
		t.Errorf("waste removed %+v, want /tmp/build/", r.Waste.Removed)
	}
}

func hasFinding(fs []gate.Finding, rule, path string) bool {
	for _, f := range fs {
		if f.Rule == rule && f.Path == path {
			return true
		}
	}
	return false
}

func TestJudge(t *testing.T) {
	t.Parallel()
	r := comparePair(t, fixtures.DiffPairs()[0])
	above := r.Above.Compressed.Delta
	if above <= 0 {
		t.Fatalf("the layers above the base did not grow (%d): the fixture changed", above)
	}
	bytesGrowth := func(n int64) *diff.Growth { return &diff.Growth{Bytes: &n} }
	tests := []struct {
		name  string
		gates diff.Gates
		fail  bool
	}{
		{"no gates", diff.Gates{}, false},
		{"growth under the limit", diff.Gates{MaxGrowth: bytesGrowth(above)}, false},
		{"growth over the limit", diff.Gates{MaxGrowth: bytesGrowth(above - 1)}, true},
		{"new warning fails at warning", diff.Gates{FailOnNew: rules.Warning}, true},
		{"new warning passes at error", diff.Gates{FailOnNew: rules.Error}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := r.Judge(tt.gates)
			if r.Failed() != tt.fail {
				t.Errorf("verdict %+v, want fail=%v", v, tt.fail)
			}
		})
	}
	// app-only: nothing new, so fail-on-new info passes.
	r2 := comparePair(t, fixtures.DiffPairs()[1])
	if r2.Judge(diff.Gates{FailOnNew: rules.Info}); r2.Failed() || r2.BaseChanged || r2.SharedLayers != 2 {
		t.Errorf("app-only: verdict %+v, baseChanged %v, shared %d", r2.Verdict, r2.BaseChanged, r2.SharedLayers)
	}
}

func TestParseGrowth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"5MB", "5.0 MB", true},
		{"1048576", "1.0 MB", true},
		{"10%", "10%", true},
		{"150%", "150%", true},
		{"-1%", "", false},
		{"lots", "", false},
		{"%", "", false},
	}
	for _, tt := range tests {
		g, err := diff.ParseGrowth(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if tt.ok && g.String() != tt.want {
			t.Errorf("%q: %s, want %s", tt.in, g, tt.want)
		}
	}
}

// TestHostileNames: file names and history from the image reach no output
// raw: no control character in text, no HTML tag, code-span break or
// table break in Markdown, valid JSON.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	evil := []string{"a`b<script>x</script>", "c|d\x1b[31mred", "e\u202eexe.txt", "<img src=x onerror=alert(1)>"}
	oldL := fixtures.NewLayer().Dir("app").File("app/keep", []byte("k"))
	newL := fixtures.NewLayer().Dir("app").File("app/keep", []byte("k"))
	for _, n := range evil {
		newL.File("app/"+n, []byte(strings.Repeat("x", 2000)))
	}
	old := fixtures.NewImage().Add(fixtures.NewLayer().Dir("bin"), fixtures.CreatedBy("ADD x /")).Add(oldL, fixtures.CreatedBy("COPY . /app"))
	nw := fixtures.NewImage().Add(fixtures.NewLayer().Dir("bin"), fixtures.CreatedBy("ADD x /")).Add(newL, fixtures.CreatedBy("RUN echo `<b>bold</b>` | \x1b]0;title\x07"))
	r := diff.Compare(side(t, old, "old`<i>"), side(t, nw, "new|x"))
	for _, f := range diff.Formats() {
		var b bytes.Buffer
		if err := diff.Write(&b, f, r, diff.Options{Top: 50}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("%s: raw control character in output:\n%q", f, out)
		}
		switch f {
		case diff.Markdown:
			prose := stripCodeSpans(out)
			for _, bad := range []string{"<script>", "<img", "<b>", "<i>"} {
				if strings.Contains(prose, bad) {
					t.Errorf("markdown lets %s through:\n%s", bad, out)
				}
			}
			// Consecutive table rows have as many cell breaks as each other.
			prev := -1
			for _, line := range strings.Split(out, "\n") {
				if !strings.HasPrefix(line, "|") {
					prev = -1
					continue
				}
				n := strings.Count(line, "|") - strings.Count(line, `\|`)
				if prev >= 0 && n != prev {
					t.Errorf("table row with %d cell breaks after %d: %s", n, prev, line)
				}
				prev = n
			}
		case diff.JSON:
			if !json.Valid(b.Bytes()) {
				t.Errorf("invalid JSON")
			}
		case diff.Text:
		}
	}
}

// stripCodeSpans removes the inline code spans of Markdown text, where
// nothing is HTML: what is left is what GitHub renders as Markdown.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			i += 2 // an escaped character is literal text
			continue
		}
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		end := -1
		for j := i + n; j < len(s); {
			k := strings.Index(s[j:], fence)
			if k < 0 {
				break
			}
			k += j
			m := 0
			for k+m < len(s) && s[k+m] == '`' {
				m++
			}
			if m == n {
				end = k
				break
			}
			j = k + m
		}
		if end < 0 {
			b.WriteString(fence)
			i += n
			continue
		}
		b.WriteString("CODE")
		i = end + n
	}
	return b.String()
}

// TestLargestChangesSkipsZero: apt's logs rewritten at the same size
// (history.log, term.log, aux-cache in two Debian builds) change no byte
// of the image; the comment's one-line summary names only directories
// whose size changed.
func TestLargestChangesSkipsZero(t *testing.T) {
	t.Parallel()
	build := func(log string, lists bool) *fixtures.Image {
		l := fixtures.NewLayer().Dir("var").Dir("var/log").Dir("var/lib").Dir("var/lib/apt").
			File("var/log/dpkg.log", []byte(log))
		if lists {
			l.Dir("var/lib/apt/lists").File("var/lib/apt/lists/Packages", bytes.Repeat([]byte("Package: x\n"), 400))
		}
		return fixtures.NewImage().Add(l)
	}
	r := diff.Compare(side(t, build("install a\n", true), "old"), side(t, build("install b\n", false), "new"))
	var buf bytes.Buffer
	if err := diff.Write(&buf, diff.Markdown, r, diff.Options{}); err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(buf.String()) {
		if strings.HasPrefix(l, "**Largest changes**") {
			line = l
		}
	}
	if !strings.Contains(line, "/var/lib/apt/") || strings.Contains(line, "/var/log/") {
		t.Errorf("largest changes %q: want /var/lib/apt/ and not /var/log/ (±0 B)", line)
	}
}

// TestLinkTargets: a symlink changes by its target, which diff reports
// (a retargeted link used to read "0 B → 0 B").
func TestLinkTargets(t *testing.T) {
	t.Parallel()
	var links fixtures.DiffPair
	for _, p := range fixtures.DiffPairs() {
		if p.Name == "links" {
			links = p
		}
	}
	r := comparePair(t, links)
	got := map[string]diff.Change{}
	for _, d := range r.Files.Dirs {
		for _, c := range d.Largest {
			got[c.Path] = c
		}
	}
	want := map[string]diff.Change{
		"/app/current": {Path: "/app/current", Kind: diff.Modified, OldLink: "releases/1", NewLink: "releases/2\x1b]0;pwned\a"},
		"/app/config":  {Path: "/app/config", Kind: diff.Modified, OldLink: "/etc/app.conf", New: 1500},
		"/app/latest":  {Path: "/app/latest", Kind: diff.Appeared, NewLink: "current"},
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %+v, want %+v", p, got[p], w)
		}
	}
	var text bytes.Buffer
	if err := diff.Write(&text, diff.Text, r, diff.Options{}); err != nil {
		t.Fatal(err)
	}
	if want := `~ /app/current  link releases/1 → link releases/2\x1b]0;pwned\a`; !strings.Contains(text.String(), want) {
		t.Errorf("text lacks %q:\n%s", want, text.String())
	}
}
