package format_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
	"github.com/layerlint/layerlint/rules/format"
	"github.com/layerlint/layerlint/rules/gate"
)

var goldens = testsupport.NewGoldenFiles()

// TestUpdateIsOff fails while -update is given.
func TestUpdateIsOff(t *testing.T) { goldens.UpdateIsOff(t) }

// sharedDiveData returns a file of the shared dive-data folder beside the
// repository, or skips the test (fails it in CI) when it is not there.
func sharedDiveData(t *testing.T, name string) string {
	t.Helper()
	return testsupport.NeedDiveData(t, name)
}

// pinnedRules are the rules golden files show: a fixed list, so that a
// rule added to package rules does not rewrite every golden file here.
func pinnedRules() []rules.Rule {
	var out []rules.Rule
	for _, r := range rules.All() {
		switch r.ID {
		case "LL001", "LL002", "LL003", "LL004", "LL005", "LL006", "LL007", "LL009", "LL011":
			out = append(out, r)
		}
	}
	return out
}

const sampleConfig = `failOn: warning
thresholds:
  maxWastedBytes: {absolute: 1kB, relative: 50%}
  maxLayers: 10
rules:
  LL004: error
ignore:
  - var/log/**
suppressions:
  - rule: LL002
    path: tmp/**
    reason: "build scratch: removed on purpose, 100% known"
    expires: 2030-12-31
  - rule: data-under-volume
    reason: seeded data, on purpose
    expires: 2024-01-31
`

const sampleDockerfile = `FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y tool && \
    rm /etc/secret.tmp && rm -r /tmp/build
RUN chmod 0700 /usr/bin/tool
COPY data/ /app/data/
`

// sampleResult lints the sample image with every feature in play: a
// threshold, a re-graded rule, an ignore, a live and an expired
// suppression, a baseline and a Dockerfile.
func sampleResult(t *testing.T) *gate.Result {
	t.Helper()
	a := imagetest.AnalyzeFixture(t, fixtures.Sample(), "sample")
	cfg, err := config.Parse([]byte(sampleConfig), ".layerlint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	df, err := gate.ParseDockerfile(strings.NewReader(sampleDockerfile), "build/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	base, err := gate.ReadBaseline(strings.NewReader(`{"version": 1, "findings": [
		{"rule": "LL001", "path": "etc/app.conf", "kind": "/etc/app.conf (# bytes) from layer # is overwritten by layer #; the old version still ships"}]}`), "baseline.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(gate.Options{
		Config: cfg, Dockerfile: df, Baseline: base, Rules: pinnedRules(),
		Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g.Evaluate(a)
}

func diveResult(t *testing.T) *gate.Result {
	t.Helper()
	a := imagetest.Analyze(t, sharedDiveData(t, "test-docker-image.tar"), "dive-test")
	d, err := config.LoadDiveCI(sharedDiveData(t, ".dive-ci"))
	if err != nil {
		t.Fatal(err)
	}
	d.File = ".dive-ci"
	g, err := gate.New(gate.Options{DiveCI: d, Rules: pinnedRules()})
	if err != nil {
		t.Fatal(err)
	}
	return g.Evaluate(a)
}

// debianResult lints the Debian+python3 image of issue 11 with the default
// configuration.
func debianResult(t *testing.T) *gate.Result {
	t.Helper()
	a := imagetest.AnalyzeFixture(t, fixtures.DebianPython(), "debian-python")
	g, err := gate.New(gate.Options{Rules: append(pinnedRules(), ruleByID(t, "LL010"))})
	if err != nil {
		t.Fatal(err)
	}
	return g.Evaluate(a)
}

func ruleByID(t *testing.T, id string) rules.Rule {
	t.Helper()
	for _, r := range rules.All() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return rules.Rule{}
}

// TestDebianFitsAScreen: on a Debian image with python3 installed the
// usual way, hundreds of findings make a report of one screen whose first
// finding is the apt archives, the one thing worth fixing; the base
// image's own duplicates and set-id programs are inherited, at info.
func TestDebianFitsAScreen(t *testing.T) {
	t.Parallel()
	r := debianResult(t)
	if n := len(r.Findings); n < 200 {
		t.Errorf("%d findings, want the hundreds of the real image", n)
	}
	var b bytes.Buffer
	if err := format.Write(&b, format.Text, []*gate.Result{r}, format.Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) > 50 {
		t.Errorf("%d lines, want a screen (50 at most):\n%s", len(lines), b.String())
	}
	top := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Top findings") })
	if top < 0 || top+2 >= len(lines) || !strings.Contains(lines[top+2], "LL005") || !strings.HasSuffix(lines[top+2], "/var/cache/apt/archives") {
		t.Errorf("the first finding is not the apt archives:\n%s", b.String())
	}
	for _, f := range r.Findings {
		if f.Rule == "LL010" && f.Severity != rules.Info {
			t.Errorf("%s %s: %s, want info for a distribution's set-id program in the base", f.Rule, f.Path, f.Severity)
		}
		if f.Layer == 0 && !f.Inherited {
			t.Errorf("%s %s in the base layer not marked inherited", f.Rule, f.Path)
		}
	}
	if len(r.Report.Anomalies) != 0 {
		t.Errorf("anomalies %v: a ./ root entry is normal", r.Report.Anomalies)
	}
}

var extensions = map[format.Format]string{
	format.Text: "txt", format.JSON: "json", format.SARIF: "sarif", format.Markdown: "md",
	format.GitHub: "github.txt", format.JUnit: "junit.xml",
}

func TestGolden(t *testing.T) {
	t.Parallel()
	inputs := []struct {
		name   string
		result func(*testing.T) *gate.Result
	}{
		{"sample", sampleResult},
		{"dive-test", diveResult},
		{"debian-python", debianResult},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			r := in.result(t)
			for _, f := range format.Formats() {
				t.Run(f.String(), func(t *testing.T) {
					var b bytes.Buffer
					if err := format.Write(&b, f, []*gate.Result{r}, format.Options{Version: "test"}); err != nil {
						t.Fatal(err)
					}
					if in.name != "debian-python" || f == format.Text || f == format.Markdown || f == format.GitHub {
						// The Debian image's other formats list its hundreds of
						// findings one by one: checked below, not kept.
						goldens.Check(t, in.name+"."+extensions[f], b.Bytes())
					}
					// Determinism: a second rendering is byte-identical.
					var again bytes.Buffer
					if err := format.Write(&again, f, []*gate.Result{r}, format.Options{Version: "test"}); err != nil || !bytes.Equal(b.Bytes(), again.Bytes()) {
						t.Errorf("second rendering differs (%v)", err)
					}
					check(t, f, b.Bytes())
				})
			}
			t.Run("text-all", func(t *testing.T) {
				var b bytes.Buffer
				if err := format.Write(&b, format.Text, []*gate.Result{r}, format.Options{Version: "test", All: true}); err != nil {
					t.Fatal(err)
				}
				if in.name != "debian-python" {
					goldens.Check(t, in.name+".all.txt", b.Bytes())
				}
			})
		})
	}
}

// check validates an output by its format's own rules.
func check(t *testing.T, f format.Format, out []byte) {
	t.Helper()
	switch f {
	case format.JSON:
		validateSchema(t, "../../docs/schema/report.schema.json", out)
	case format.SARIF:
		p := os.Getenv("LAYERLINT_SARIF_SCHEMA")
		if p == "" {
			if testenv.Strict() {
				t.Fatalf("%s is set but LAYERLINT_SARIF_SCHEMA is not: SARIF cannot be validated against the OASIS schema (.ci/run fetches it)", testenv.StrictVar)
			}
			t.Log("LAYERLINT_SARIF_SCHEMA is unset: SARIF not validated against the OASIS schema (.ci/run fetches it)")
			return
		}
		validateSchema(t, p, out)
	case format.JUnit:
		dec := xml.NewDecoder(bytes.NewReader(out))
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("JUnit output is not well-formed XML: %v", err)
			}
		}
	case format.Text, format.Markdown, format.GitHub:
		if !bytes.HasSuffix(out, []byte("\n")) {
			t.Error("output does not end with a newline")
		}
	}
}

func validateSchema(t *testing.T, schema string, doc []byte) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(schema)
	if err != nil {
		t.Fatalf("compiling %s: %v", schema, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("output does not match %s: %v", schema, err)
	}
}

// TestSampleFeatures checks the golden sample has what it is meant to
// show, so that an -update cannot quietly lose a feature.
func TestSampleFeatures(t *testing.T) {
	t.Parallel()
	r := sampleResult(t)
	var suppressed, baselined, located, expired, threshold bool
	for _, f := range r.Findings {
		suppressed = suppressed || f.Suppressed != nil
		baselined = baselined || f.Baselined
		located = located || f.Location != nil && f.Location.Dockerfile == "build/Dockerfile" && f.Location.Line > 0
		expired = expired || f.Rule == gate.IDExpiredSuppression
		threshold = threshold || f.Rule == gate.IDMaxWastedBytes && f.Failing
	}
	if !suppressed || !baselined || !located || !expired || !threshold || r.Summary.Ignored == 0 || r.Summary.Result != gate.Fail {
		t.Errorf("suppressed %v baselined %v located %v expired %v threshold %v summary %+v",
			suppressed, baselined, located, expired, threshold, r.Summary)
	}
	var sarif struct {
		Runs []struct {
			Results []struct {
				RuleID       string `json:"ruleId"`
				Suppressions []struct {
					Justification string `json:"justification"`
				} `json:"suppressions"`
				Locations []struct {
					PhysicalLocation *struct {
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	var b bytes.Buffer
	if err := format.Write(&b, format.SARIF, []*gate.Result{r}, format.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &sarif); err != nil {
		t.Fatal(err)
	}
	// Suppressed findings stay in SARIF, marked.
	if got := len(sarif.Runs[0].Results); got != len(r.Findings) {
		t.Errorf("SARIF has %d results for %d findings", got, len(r.Findings))
	}
	n := 0
	for _, res := range sarif.Runs[0].Results {
		if len(res.Suppressions) > 0 {
			n++
		}
	}
	if n != r.Summary.Suppressed {
		t.Errorf("SARIF suppressions %d, want %d", n, r.Summary.Suppressed)
	}
}

func TestMarkdownCap(t *testing.T) {
	t.Parallel()
	r := sampleResult(t)
	var b bytes.Buffer
	if err := format.Write(&b, format.Markdown, []*gate.Result{r}, format.Options{MaxFindings: 2}); err != nil {
		t.Fatal(err)
	}
	more := len(r.Groups) - 2
	if !strings.Contains(b.String(), "… and "+strconv.Itoa(more)+" more groups") {
		t.Errorf("no cap line for %d more:\n%s", more, b.String())
	}
	// Failing findings come first.
	rows := strings.Split(b.String(), "\n| ❌")
	if len(rows) < 2 {
		t.Errorf("no failing row first:\n%s", b.String())
	}
}

// TestGitHubEscaping: message data escapes %, CR and LF; properties
// also escape : and , which separate them. A CR or LF in a finding's text
// is shown escaped (\r, \n), never a line break: the only line breaks in
// an annotation are layerlint's own.
func TestGitHubEscaping(t *testing.T) {
	t.Parallel()
	r := &gate.Result{
		Findings: []gate.Finding{{
			Finding: rules.Finding{Rule: "LL001", Severity: rules.Warning, Message: "100% of a,b: x\r\ny", Layer: 1, Path: "a"},
			Name:    "overwritten-files", Failing: true,
			Location: &gate.Location{Dockerfile: "dir,x/Docker:file", Line: 12},
		}},
		Summary: gate.Summary{Result: gate.Fail, FailOn: gate.FailOnWarning, Counts: gate.Counts{Failing: 1, Warnings: 1, Findings: 1}},
	}
	var b bytes.Buffer
	if err := format.Write(&b, format.GitHub, []*gate.Result{r}, format.Options{}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(b.String(), "\n")
	want := "::warning file=dir%2Cx/Docker%3Afile,line=12,title=LL001 overwritten-files::100%25 of a,b: x\\r\\ny [image /a]"
	if first != want {
		t.Errorf("got  %s\nwant %s", first, want)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, f := range format.Formats() {
		got, err := format.Parse(f.String())
		if err != nil || got != f {
			t.Errorf("Parse(%s) = %v, %v", f, got, err)
		}
	}
	if _, err := format.Parse("yaml"); err == nil || !strings.Contains(err.Error(), "text, json, sarif, markdown, github, junit") {
		t.Errorf("Parse(yaml): %v", err)
	}
}

// TestSARIFSchemaBites makes sure the SARIF schema check is real: a result
// with a level SARIF does not define must be rejected.
func TestSARIFSchemaBites(t *testing.T) {
	t.Parallel()
	p := os.Getenv("LAYERLINT_SARIF_SCHEMA")
	if p == "" {
		testenv.Skip(t, "LAYERLINT_SARIF_SCHEMA is unset: the SARIF schema is fetched by .ci/run")
	}
	var b bytes.Buffer
	if err := format.Write(&b, format.SARIF, []*gate.Result{sampleResult(t)}, format.Options{}); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(b.Bytes(), []byte(`"level": "warning"`), []byte(`"level": "loud"`), 1)
	if bytes.Equal(bad, b.Bytes()) {
		t.Fatal("no warning level to break")
	}
	sch, err := jsonschema.NewCompiler().Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err == nil {
		t.Error("the SARIF schema accepted level \"loud\"")
	}
}
