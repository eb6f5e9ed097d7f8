package gate_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
	"github.com/layerlint/layerlint/rules/gate"
)

// analyzeRef opens and analyzes one image with digest checks on.
func analyzeRef(t *testing.T, ref string) *analyze.Analysis {
	t.Helper()
	return imagetest.AnalyzeWith(t, ref, analyze.Options{})
}

func analyzeImage(t *testing.T, img *fixtures.Image) *analyze.Analysis {
	t.Helper()
	return analyzeRef(t, imagetest.Layout(t, img))
}

// sharedDiveData returns a file of the shared dive-data folder beside the
// repository, or skips the test (fails it in CI) when it is not there.
func sharedDiveData(t *testing.T, name string) string {
	t.Helper()
	return testsupport.NeedDiveData(t, name)
}

func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml), ".layerlint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func evaluate(t *testing.T, a *analyze.Analysis, opts gate.Options) *gate.Result {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = now
	}
	g, err := gate.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g.Evaluate(a)
}

// brief is a finding as tests pin it down.
type brief struct {
	rule, path string
	failing    bool
}

func briefs(r *gate.Result, keep func(gate.Finding) bool) []brief {
	var out []brief
	for _, f := range r.Findings {
		if keep == nil || keep(f) {
			out = append(out, brief{f.Rule, f.Path, f.Failing})
		}
	}
	return out
}

func find(r *gate.Result, rule, path string) *gate.Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule && r.Findings[i].Path == path {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestSampleDefaults: with no configuration the sample image's findings
// are warnings and info, so the default gate (fail on errors) passes, and
// --fail-on warning or info fails it.
func TestSampleDefaults(t *testing.T) {
	t.Parallel()
	a := analyzeImage(t, fixtures.Sample())
	r := evaluate(t, a, gate.Options{})
	// Count by severity from the findings themselves: other rules may be
	// added, and this test is about the gate, not about them.
	bySev := map[rules.Severity]int{}
	for _, f := range r.Findings {
		bySev[f.Severity]++
		if f.Layer >= 0 && f.CreatedBy == "" {
			t.Errorf("finding %s %s has no createdBy", f.Rule, f.Path)
		}
		if f.Name == "" || len(f.Fingerprint) != 16 {
			t.Errorf("finding %s: name %q fingerprint %q", f.Rule, f.Name, f.Fingerprint)
		}
	}
	if bySev[rules.Error] != 0 || bySev[rules.Warning] < 5 || bySev[rules.Info] < 2 {
		t.Fatalf("the sample should have warnings and info but no errors: %v", bySev)
	}
	if s := r.Summary; s.Findings != len(r.Findings) || s.Warnings != bySev[rules.Warning] || s.Info != bySev[rules.Info] {
		t.Errorf("counts %+v", s.Counts)
	}
	tests := []struct {
		failOn  gate.FailOn
		verdict gate.Verdict
		failing int
	}{
		{gate.FailOnUnset, gate.Pass, 0},
		{gate.FailOnError, gate.Pass, 0},
		{gate.FailOnWarning, gate.Fail, bySev[rules.Warning]},
		{gate.FailOnInfo, gate.Fail, bySev[rules.Warning] + bySev[rules.Info]},
		{gate.FailOnNever, gate.Pass, 0},
	}
	for _, tt := range tests {
		t.Run(tt.failOn.String(), func(t *testing.T) {
			r := evaluate(t, a, gate.Options{FailOn: tt.failOn})
			if r.Summary.Result != tt.verdict || r.Summary.Failing != tt.failing {
				t.Errorf("verdict %s with %d failing, want %s with %d", r.Summary.Result, r.Summary.Failing, tt.verdict, tt.failing)
			}
			want := tt.failOn
			if want == gate.FailOnUnset {
				want = gate.FailOnError
			}
			if r.Summary.FailOn != want {
				t.Errorf("failOn %s", r.Summary.FailOn)
			}
		})
	}
}

func TestConfigSeveritiesIgnoreOptions(t *testing.T) {
	t.Parallel()
	a := analyzeImage(t, fixtures.Sample())
	cfg := parseConfig(t, `
failOn: warning
inherited: rule
rules:
  overwritten-files: error
  LL002: off
  metadata-only-copy: info
  LL005: info
  LL007: info
  LL004: {options: {minBytes: 2KiB}}
ignore:
  - var/log/**
`)
	r := evaluate(t, a, gate.Options{Config: cfg})
	got := briefs(r, func(f gate.Finding) bool { return f.Rule <= "LL007" })
	want := []brief{
		{"LL001", "etc/app.conf", true}, // error now
		{"LL005", "var/lib/apt/lists", false},
		{"LL003", "usr/bin/tool", false},
		{"LL007", "app/data", false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n got %v\nwant %v", got, want)
	}
	if r.Summary.Ignored != 1 || r.Summary.Result != gate.Fail || r.Summary.FailOn != gate.FailOnWarning {
		t.Errorf("summary %+v", r.Summary)
	}
	if f := find(r, "LL001", "etc/app.conf"); f.Severity != rules.Error {
		t.Errorf("LL001 severity %s", f.Severity)
	}
	status := map[string]gate.RuleStatus{}
	for _, rr := range r.Rules {
		status[rr.ID] = rr.Status
	}
	if status["LL002"] != gate.Disabled || status["LL001"] != gate.Enabled || status["LL100"] != gate.NotConfigured ||
		status["dive/lowestEfficiency"] != gate.NotConfigured {
		t.Errorf("statuses %v", status)
	}
	// The flag beats the file.
	r = evaluate(t, a, gate.Options{Config: cfg, FailOn: gate.FailOnNever})
	if r.Summary.Result != gate.Pass {
		t.Errorf("--fail-on never: %s", r.Summary.Result)
	}
}

func TestRuleOptions(t *testing.T) {
	t.Parallel()
	a := analyzeImage(t, fixtures.Sample())
	// 5 layers over maxLayers 2: LL011 reports it; LL004 with 1 byte
	// reports the tool copy still.
	r := evaluate(t, a, gate.Options{Config: parseConfig(t, "rules:\n  LL011: {options: {maxLayers: 2}}\n  LL004: {options: {minBytes: 1}}\n")})
	if find(r, "LL011", "") == nil || find(r, "LL004", "usr/bin/tool") == nil {
		t.Errorf("findings %v", briefs(r, nil))
	}
	g, err := gate.New(gate.Options{Config: parseConfig(t, "rules:\n  LL008: {options: {minBytes: 2KiB}}\n  LL013: {options: {estimate: true, minSaving: 20%}}\n")})
	if err != nil {
		t.Fatal(err)
	}
	o := g.RuleOptions()
	if o.LargeFileMinBytes != 2048 || !o.EstimateCompression || o.ZstdMinSaving != 0.2 || o.DuplicateMinBytes != 0 {
		t.Errorf("rule options %+v", o)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ yaml, want string }{
		{"rules:\n  LL999: off\n", `.layerlint.yaml: line 2: rules: unknown rule "LL999"`},
		{"rules:\n  no-such-rule: info\n", `unknown rule "no-such-rule"`},
		{"rules:\n  LL001:\n    options: {minBytes: 3}\n", "line 3: option minBytes belongs to rule LL004 and LL008, not LL001"},
		{"rules:\n  LL004:\n    options: {estimate: true}\n", "option estimate belongs to rule LL013, not LL004"},
		{"rules:\n  LL013:\n    options: {minSaving: 100%}\n", "minSaving 1: want a ratio between 0 and 1"},
		{"rules:\n  LL004:\n    options: {maxLayers: 3}\n", "option maxLayers belongs to rule LL011"},
		{"rules:\n  LL011:\n    options: {maxLayers: 0}\n", "maxLayers 0: want 1 or more"},
		{"suppressions:\n  - {rule: LL0001, reason: x}\n", `line 2: suppression: unknown rule "LL0001"`},
	}
	for _, tt := range tests {
		_, err := gate.New(gate.Options{Config: parseConfig(t, tt.yaml)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestSuppressions(t *testing.T) {
	t.Parallel()
	a := analyzeImage(t, fixtures.Sample())
	cfg := parseConfig(t, `
suppressions:
  - rule: overwritten-files
    path: /etc/*.conf
    reason: the base ships a default we replace
    expires: 2025-06-01
  - rule: LL002
    path: tmp/**
    createdBy: "rm -r /tmp/build"
    reason: build scratch, removed on purpose
  - rule: LL002
    layer: 3
    reason: only layer 3
  - rule: LL003
    createdBy: "^COPY"
    reason: does not match the chmod layer
  - rule: LL007
    reason: expired
    expires: 2025-05-31
`)
	r := evaluate(t, a, gate.Options{Config: cfg, FailOn: gate.FailOnWarning})
	suppressed := map[string]string{}
	for _, f := range r.Findings {
		if f.Suppressed != nil {
			suppressed[f.Rule+" "+f.Path] = f.Suppressed.Reason + " @" + f.Suppressed.Source
			if f.Failing {
				t.Errorf("suppressed finding %s fails", f.Rule)
			}
		}
	}
	want := map[string]string{
		"LL001 etc/app.conf": "the base ships a default we replace @.layerlint.yaml:3", // expires today: still on
		"LL002 tmp/build":    "build scratch, removed on purpose @.layerlint.yaml:7",
		"LL002 app/data":     "only layer 3 @.layerlint.yaml:11",
	}
	if len(suppressed) != len(want) {
		t.Errorf("suppressed %v, want %v", suppressed, want)
	}
	for k, v := range want {
		if suppressed[k] != v {
			t.Errorf("%s: %q, want %q", k, suppressed[k], v)
		}
	}
	if f := find(r, "LL001", "etc/app.conf"); f.Suppressed.Expires != "2025-06-01" {
		t.Errorf("expires %q", f.Suppressed.Expires)
	}
	// The expired one no longer applies and says so, once.
	if f := find(r, "LL007", "app/data"); f == nil || f.Suppressed != nil || !f.Failing {
		t.Errorf("LL007 after expiry: %+v", f)
	}
	exp := find(r, gate.IDExpiredSuppression, "")
	if exp == nil || !strings.Contains(exp.Message, ".layerlint.yaml line 17: the suppression of LL007 expired on 2025-05-31") ||
		exp.Severity != rules.Warning {
		t.Errorf("expiry finding %+v", exp)
	}
	if r.Summary.Suppressed != 3 {
		t.Errorf("suppressed count %d", r.Summary.Suppressed)
	}
	// A day later the first one expires too.
	r = evaluate(t, a, gate.Options{Config: cfg, Now: now.AddDate(0, 0, 1)})
	if f := find(r, "LL001", "etc/app.conf"); f.Suppressed != nil {
		t.Errorf("suppression still applies after its date")
	}
}

// overwriteImage builds an image whose top layers overwrite a file, below
// any number of unrelated layers: a rebuild that moves every index.
func overwriteImage(below int, size int) *fixtures.Image {
	img := fixtures.NewImage()
	for i := range below {
		img.Add(fixtures.NewLayer().File("base/"+strings.Repeat("x", i+1), []byte("base")), fixtures.CreatedBy("ADD base /"))
	}
	img.Add(fixtures.NewLayer().Dir("etc").File("etc/app.conf", bytes.Repeat([]byte("a"), size)), fixtures.CreatedBy("COPY app.conf /etc/"))
	img.Add(fixtures.NewLayer().Dir("etc").File("etc/app.conf", bytes.Repeat([]byte("b"), size+7)), fixtures.CreatedBy("RUN sed -i s/a/b/ /etc/app.conf"))
	return img
}

func TestBaseline(t *testing.T) {
	t.Parallel()
	first := evaluate(t, analyzeImage(t, overwriteImage(1, 100)), gate.Options{FailOn: gate.FailOnWarning})
	if first.Summary.Result != gate.Fail {
		t.Fatalf("the image should fail on warnings: %v", briefs(first, nil))
	}
	b := gate.NewBaseline(first)
	var buf bytes.Buffer
	if err := gate.WriteBaseline(&buf, b); err != nil {
		t.Fatal(err)
	}
	read, err := gate.ReadBaseline(bytes.NewReader(buf.Bytes()), "baseline.json")
	if err != nil {
		t.Fatal(err)
	}
	// Rebuilt with two more layers below and a different size: every
	// index and number changed, the finding is the same.
	rebuilt := analyzeImage(t, overwriteImage(3, 250))
	r := evaluate(t, rebuilt, gate.Options{FailOn: gate.FailOnWarning, Baseline: read})
	f := find(r, "LL001", "etc/app.conf")
	if f == nil || !f.Baselined || f.Failing || r.Summary.Result != gate.Pass || r.Summary.Baselined != 1 {
		t.Errorf("after rebuild: %+v, summary %+v", f, r.Summary)
	}
	if r.Summary.Baseline != "baseline.json" {
		t.Errorf("baseline name %q", r.Summary.Baseline)
	}
	if f.Fingerprint != find(first, "LL001", "etc/app.conf").Fingerprint {
		t.Errorf("fingerprint changed across the rebuild")
	}
	// Thresholds are policy: a baseline never records them.
	withThreshold := evaluate(t, rebuilt, gate.Options{Config: parseConfig(t, "thresholds: {maxLayers: 1}\n")})
	for _, e := range gate.NewBaseline(withThreshold).Findings {
		if e.Rule == gate.IDMaxLayers {
			t.Errorf("baseline recorded a threshold: %+v", e)
		}
	}
	for _, bad := range []string{`{"version":2,"findings":[]}`, `{"version":1,"findings":[],"extra":1}`, `not json`} {
		if _, err := gate.ReadBaseline(strings.NewReader(bad), "b.json"); err == nil || !strings.Contains(err.Error(), "b.json") {
			t.Errorf("ReadBaseline(%s): %v", bad, err)
		}
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	if got := gate.Kind("/a (26 bytes) from layer 0 is overwritten by layer 12; 1.2 kB"); got != "/a (# bytes) from layer # is overwritten by layer #; # kB" {
		t.Errorf("Kind = %q", got)
	}
}

// TestThresholds: absolute and relative limits together fail only when
// both are exceeded. The sample wastes 1972 bytes above the base out of
// 2896 added (68.1%).
func TestThresholds(t *testing.T) {
	t.Parallel()
	a := analyzeImage(t, fixtures.Sample())
	tests := []struct {
		name, yaml string
		rule       string
		fails      bool
	}{
		{"absolute over", "maxWastedBytes: 1kB", gate.IDMaxWastedBytes, true},
		{"absolute under", "maxWastedBytes: 2kB", gate.IDMaxWastedBytes, false},
		{"absolute at the limit", "maxWastedBytes: 1972", gate.IDMaxWastedBytes, false},
		{"both over", "maxWastedBytes: {absolute: 1kB, relative: 50%}", gate.IDMaxWastedBytes, true},
		{"absolute over, relative under", "maxWastedBytes: {absolute: 1kB, relative: 70%}", gate.IDMaxWastedBytes, false},
		{"relative over, absolute under", "maxWastedBytes: {absolute: 10MB, relative: 5%}", gate.IDMaxWastedBytes, false},
		{"relative only", "maxWastedBytes: {relative: 68%}", gate.IDMaxWastedBytes, true},
		{"efficiency below", "minEfficiency: 70%", gate.IDMinEfficiency, true},
		{"efficiency above", "minEfficiency: 0.6", gate.IDMinEfficiency, false},
		{"user ratio over", "maxUserWastedRatio: 10%", gate.IDMaxUserWastedRatio, true},
		{"user ratio under", "maxUserWastedRatio: 70%", gate.IDMaxUserWastedRatio, false},
		{"size over", "maxImageSize: 1kB", gate.IDMaxImageSize, true},
		{"size under", "maxImageSize: 1MiB", gate.IDMaxImageSize, false},
		{"layers over", "maxLayers: 3", gate.IDMaxLayers, true},
		{"layers at", "maxLayers: 4", gate.IDMaxLayers, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, a, gate.Options{Config: parseConfig(t, "thresholds:\n  "+tt.yaml+"\n")})
			f := find(r, tt.rule, "")
			if (f != nil) != tt.fails || (f != nil && (!f.Failing || f.Layer != rules.ImageWide)) {
				t.Errorf("finding %+v, want failing %v", f, tt.fails)
			}
			if (r.Summary.Result == gate.Fail) != tt.fails {
				t.Errorf("verdict %s", r.Summary.Result)
			}
			for _, rr := range r.Rules {
				if rr.ID == tt.rule && (rr.Measured == "" || rr.Status != gate.Enabled) {
					t.Errorf("rule result %+v", rr)
				}
			}
		})
	}
	// A threshold re-graded as a warning no longer fails the default gate.
	r := evaluate(t, a, gate.Options{Config: parseConfig(t, "thresholds: {maxLayers: 3}\nrules: {max-layers: warning}\n")})
	if f := find(r, gate.IDMaxLayers, ""); f == nil || f.Failing || f.Severity != rules.Warning || r.Summary.Result != gate.Pass {
		t.Errorf("re-graded threshold: %+v", f)
	}
}

// TestDiveCI is the acceptance test: dive's sample .dive-ci passes dive's
// test image as dive's own CI does, and dive's defaults fail it on
// userWastedPercent 0.48 > 0.1, as dive's do. Only dive rules decide.
func TestDiveCI(t *testing.T) {
	t.Parallel()
	a := analyzeRef(t, sharedDiveData(t, "test-docker-image.tar"))
	sample, err := config.LoadDiveCI(sharedDiveData(t, ".dive-ci"))
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := config.ParseDiveCI([]byte("rules:\n"), "empty.dive-ci")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    gate.Options
		verdict gate.Verdict
		failing []string
		only    bool
	}{
		{"dive sample passes", gate.Options{DiveCI: sample}, gate.Pass, nil, true},
		{"dive defaults fail", gate.Options{DiveCI: defaults}, gate.Fail, []string{gate.IDDiveHighestUserWastedPercent}, true},
		// Which of layerlint's rules fail depends on the rule set, which
		// grows; that some do is the point.
		{"layerlint's rules count with --fail-on", gate.Options{DiveCI: sample, FailOn: gate.FailOnWarning}, gate.Fail, []string{"LL*"}, false},
		{"and with a .layerlint.yaml", gate.Options{DiveCI: defaults, Config: parseConfig(t, "failOn: error\n")}, gate.Fail, []string{gate.IDDiveHighestUserWastedPercent}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, a, tt.opts)
			var failing []string
			for _, f := range r.Findings {
				if f.Failing {
					failing = append(failing, f.Rule)
				}
			}
			if slices.Equal(tt.failing, []string{"LL*"}) && len(failing) > 0 && !slices.ContainsFunc(failing, gate.IsDive) {
				failing = tt.failing
			}
			if r.Summary.Result != tt.verdict || !slices.Equal(failing, tt.failing) || r.Summary.DiveOnly != tt.only {
				t.Errorf("verdict %s failing %v diveOnly %v; want %s %v %v", r.Summary.Result, failing, r.Summary.DiveOnly, tt.verdict, tt.failing, tt.only)
			}
		})
	}
	r := evaluate(t, a, gate.Options{DiveCI: defaults})
	f := find(r, gate.IDDiveHighestUserWastedPercent, "")
	if f == nil || f.Message != "userWastedPercent 0.4834911001404049 is above the threshold 0.1 (dive's default)" {
		t.Errorf("message %+v", f)
	}
	measured := map[string]string{}
	for _, rr := range r.Rules {
		measured[rr.ID] = rr.Measured
	}
	if measured[gate.IDDiveLowestEfficiency] != "efficiency 0.9844212134184309; threshold 0.9 (dive's default)" || measured[gate.IDDiveHighestWastedBytes] != "" {
		t.Errorf("measured %v", measured)
	}
}

// TestDiveCIEdges: dive's NaN passes every rule; a single-layer image has
// no user layers.
func TestDiveCIEdges(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage().Add(fixtures.NewLayer().File("a", []byte("a")), fixtures.CreatedBy("ADD a /"))
	a := analyzeImage(t, img)
	d, err := config.ParseDiveCI([]byte("rules:\n  lowestEfficiency: 1\n  highestWastedBytes: 0\n  highestUserWastedPercent: 0\n"), "d")
	if err != nil {
		t.Fatal(err)
	}
	r := evaluate(t, a, gate.Options{DiveCI: d})
	if r.Summary.Result != gate.Pass {
		t.Errorf("single layer: %v", briefs(r, nil))
	}
}

func TestParseFailOn(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"error", "warning", "info", "never"} {
		f, err := gate.ParseFailOn(s)
		if err != nil || f.String() != s {
			t.Errorf("%s: %v %v", s, f, err)
		}
	}
	if _, err := gate.ParseFailOn("fatal"); err == nil {
		t.Error("fatal accepted")
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range gate.Catalog() {
		if seen[r.ID] || seen[r.Name] {
			t.Errorf("duplicate rule key %s/%s", r.ID, r.Name)
		}
		seen[r.ID], seen[r.Name] = true, true
		if r.Summary == "" || r.Doc == "" || r.Severity == 0 {
			t.Errorf("%s lacks documentation", r.ID)
		}
	}
}

// TestDuplicateFingerprintStable: LL004 names the first copy of a
// content, which a rebuild may move (a base update, a renamed file); the
// copy a later step added is the same finding, so a diff lists it neither
// as fixed nor as new, and a baseline written before still accepts it.
func TestDuplicateFingerprintStable(t *testing.T) {
	t.Parallel()
	dup := func(first string) *fixtures.Image {
		big := bytes.Repeat([]byte("licence "), 500)
		return fixtures.NewImage().
			Add(fixtures.NewLayer().Dir("opt").File(first, big)).
			Add(fixtures.NewLayer().Dir("usr").Dir("usr/share").Dir("usr/share/doc").Dir("usr/share/doc/a").
				File("usr/share/doc/a/copyright", big))
	}
	before := evaluate(t, analyzeImage(t, dup("opt/first")), gate.Options{})
	after := evaluate(t, analyzeImage(t, dup("opt/renamed")), gate.Options{})
	fb, fa := find(before, "LL004", "usr/share/doc/a/copyright"), find(after, "LL004", "usr/share/doc/a/copyright")
	if fb == nil || fa == nil {
		t.Fatalf("LL004 findings: %v / %v", briefs(before, nil), briefs(after, nil))
	}
	if fb.Message == fa.Message || fb.Fingerprint != fa.Fingerprint {
		t.Errorf("fingerprints %s (%q) and %s (%q), want one", fb.Fingerprint, fb.Message, fa.Fingerprint, fa.Message)
	}
	// A baseline of an earlier version recorded the kind of the whole
	// message, first copy included.
	legacy := fmt.Sprintf(`{"version":%d,"findings":[{"rule":"LL004","path":"/usr/share/doc/a/copyright","kind":%q,"message":%q}]}`,
		gate.BaselineVersion, gate.Kind(fb.Message), fb.Message)
	b, err := gate.ReadBaseline(strings.NewReader(legacy), "old.json")
	if err != nil {
		t.Fatal(err)
	}
	if f := find(evaluate(t, analyzeImage(t, dup("opt/first")), gate.Options{Baseline: b}), "LL004", "usr/share/doc/a/copyright"); f == nil || !f.Baselined {
		t.Errorf("a baseline of the whole message no longer accepts %+v", f)
	}
}
