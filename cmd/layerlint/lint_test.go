package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
)

// sharedDiveData returns a file of the shared dive-data folder beside the
// repository, or skips the test (fails it in CI) when it is not there.
func sharedDiveData(t *testing.T, name string) string {
	t.Helper()
	return testsupport.NeedDiveData(t, name)
}

// writeTemp writes content to name in a new temporary directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLintExitCodes(t *testing.T) {
	t.Parallel()
	// An explicit empty configuration, so that no .layerlint.yaml above the
	// checkout changes the outcome.
	empty := writeTemp(t, ".layerlint.yaml", "")
	bad := imagetest.CorruptSample(t, 1)
	unknownKey := writeTemp(t, ".layerlint.yaml", "failOn: error\nthreshold:\n  maxLayers: 3\n")
	strict := writeTemp(t, ".layerlint.yaml", "thresholds:\n  maxLayers: 3\n")
	emptyDive := writeTemp(t, ".dive-ci", "rules:\n")
	tests := []cliCase{
		{"sample passes on errors", []string{"lint", "--config", empty, sample}, ExitOK, "Verdict pass", ""},
		{"sample fails on warnings", []string{"lint", "--config", empty, "--fail-on", "warning", sample}, ExitFailed, "Verdict FAIL", ""},
		{"never fails", []string{"lint", "--config", empty, "--fail-on", "never", sample}, ExitOK, "Verdict pass", ""},
		{"threshold fails", []string{"lint", "--config", strict, sample}, ExitFailed, "LL104", ""},
		{"bad fail-on", []string{"lint", "--fail-on", "sometimes", sample}, ExitInput, "", "fail-on \"sometimes\""},
		{"bad format", []string{"lint", "--format", "yaml", sample}, ExitInput, "", "text, json, sarif, markdown, github, junit"},
		{"unknown config key", []string{"lint", "--config", unknownKey, sample}, ExitInput, "", "line 2: unknown key \"threshold\""},
		{"missing config", []string{"lint", "--config", "/nonexistent/.layerlint.yaml", sample}, ExitInput, "", "/nonexistent/.layerlint.yaml"},
		{"missing baseline", []string{"lint", "--config", empty, "--baseline", "/nonexistent/b.json", sample}, ExitInput, "", "/nonexistent/b.json"},
		{"no image", []string{"lint", "--config", empty}, ExitInput, "", "expected one IMAGE"},
		{"missing image", []string{"lint", "--config", empty, "/nonexistent/image"}, ExitInput, "", "/nonexistent/image"},
		{"digest mismatch", []string{"lint", "--config", empty, bad}, ExitIntegrity, "", "digest mismatch"},
		{"sarif", []string{"lint", "--config", empty, "--format", "sarif", sample}, ExitOK, `"version": "2.1.0"`, ""},
		{"github", []string{"lint", "--config", empty, "--format", "github", "--fail-on", "warning", sample}, ExitFailed, "::warning ", ""},
		{"junit", []string{"lint", "--config", empty, "--format", "junit", sample}, ExitOK, "<testsuites", ""},
		{"markdown", []string{"lint", "--config", empty, "--format", "markdown", sample}, ExitOK, "### ✅ layerlint: pass", ""},
		// The acceptance commands: dive's sample .dive-ci passes dive's test
		// image as dive's CI does; dive's defaults fail it (0.48 > 0.1).
		{"dive-ci passes", []string{"lint", "--dive-ci", sharedDiveData(t, ".dive-ci"), sharedDiveData(t, "test-docker-image.tar")}, ExitOK, "only the dive rules decide", ""},
		{"dive defaults fail", []string{"lint", "--dive-ci", emptyDive, sharedDiveData(t, "test-docker-image.tar")}, ExitFailed, "dive/highestUserWastedPercent  FAIL", ""},
		{"bad dive-ci", []string{"lint", "--dive-ci", writeTemp(t, ".dive-ci", "rules:\n  lowestEfficiency: high\n"), sample}, ExitInput, "", "line 2: lowestEfficiency"},
	}
	runCases(t, tests)
}

// TestLintDiscovery: .layerlint.yaml and .dive-ci are found in the working
// directory or a parent.
func TestLintDiscovery(t *testing.T) {
	img, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".layerlint.yaml"), []byte("failOn: warning\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	code, out, errs := runCLI(t, "lint", img)
	if code != ExitFailed || !strings.Contains(out, "config ../../.layerlint.yaml") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	// A .dive-ci beside it is applied too; with a .layerlint.yaml present
	// layerlint's rules still count.
	if err := os.WriteFile(filepath.Join(root, ".dive-ci"), []byte("rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: disabled\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "lint", "--fail-on", "error", img)
	if code != ExitOK || !strings.Contains(out, "dive-ci ../../.dive-ci") || !strings.Contains(out, "dive/lowestEfficiency") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestLintOutputBaselineDockerfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := writeTemp(t, ".layerlint.yaml", "")
	report := filepath.Join(dir, "report.json")
	baseline := filepath.Join(dir, "baseline.json")
	dockerfile := writeTemp(t, "Dockerfile", "FROM debian\nRUN apt-get update && apt-get install -y tool && rm /etc/secret.tmp && rm -r /tmp/build\nRUN chmod 0700 /usr/bin/tool\nCOPY data/ /app/data/\n")

	// Recording a baseline accepts what it records, in the same run.
	code, out, errs := runCLI(t, "lint", "--config", empty, "--fail-on", "warning", "--write-baseline", baseline,
		"--dockerfile", dockerfile, "--format", "json", "--output", report, sample)
	if code != ExitOK || out != "" || !strings.Contains(errs, "pass (report: "+report+")") {
		t.Fatalf("write-baseline: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	var rep struct {
		Findings []struct {
			Rule      string `json:"rule"`
			Baselined bool   `json:"baselined"`
			Location  *struct {
				Dockerfile string `json:"dockerfile"`
				Line       int    `json:"line"`
			} `json:"location"`
		} `json:"findings"`
		Verdict struct {
			Result   string `json:"result"`
			Baseline string `json:"baseline"`
		} `json:"verdict"`
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	located := 0
	for _, f := range rep.Findings {
		if !f.Baselined {
			t.Errorf("finding %s not baselined", f.Rule)
		}
		if f.Location != nil && f.Location.Dockerfile == dockerfile && f.Location.Line > 1 {
			located++
		}
	}
	if len(rep.Findings) == 0 || located == 0 || rep.Verdict.Result != "pass" || rep.Verdict.Baseline != baseline {
		t.Errorf("report: %d findings, %d located, verdict %+v", len(rep.Findings), located, rep.Verdict)
	}
	// The next run reads it.
	code, out, errs = runCLI(t, "lint", "--config", empty, "--fail-on", "warning", "--baseline", baseline, sample)
	if code != ExitOK || !strings.Contains(out, "baselined") {
		t.Errorf("baseline: exit %d\n%s\n%s", code, out, errs)
	}
	// A failed write leaves nothing behind and exits 2.
	code, _, errs = runCLI(t, "lint", "--config", empty, "--output", filepath.Join(dir, "missing", "r.txt"), sample)
	if code != ExitInput || !strings.Contains(errs, "missing") {
		t.Errorf("unwritable output: exit %d %s", code, errs)
	}
}

func TestLintPlatformAll(t *testing.T) {
	t.Parallel()
	dir := imagetest.SampleIndex(t)
	empty := writeTemp(t, ".layerlint.yaml", "")
	code, out, errs := runCLI(t, "lint", "--config", empty, "--format", "json", "--platform", "all", "--fail-on", "warning", dir)
	if code != ExitFailed {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var reports []struct {
		Image   struct{ Reference string } `json:"image"`
		Verdict struct{ Result string }    `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 2 {
		t.Fatalf("want an array of 2 reports: %v (%d)", err, len(reports))
	}
	for _, r := range reports {
		if r.Verdict.Result != "fail" || !strings.Contains(r.Image.Reference, "[linux/") {
			t.Errorf("report %+v", r)
		}
	}
}

// TestLintDebianScreen: the CLI's default text report on the Debian+python3
// image of issue 11 fits a screen and starts with the apt archives; --all
// lists every finding.
func TestLintDebianScreen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := fixtures.DebianPython().WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	empty := writeTemp(t, ".layerlint.yaml", "")
	code, out, errs := runCLI(t, "lint", "--config", empty, dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 50 {
		t.Errorf("%d lines, want a screen:\n%s", len(lines), out)
	}
	i := strings.Index(out, "Top findings")
	if i < 0 || !strings.Contains(strings.SplitN(out[i:], "\n", 4)[2], "/var/cache/apt/archives") {
		t.Errorf("the apt archives do not come first:\n%s", out)
	}
	_, all, _ := runCLI(t, "lint", "--config", empty, "--all", dir)
	if n := strings.Count(all, "\n  LL004"); n < 200 {
		t.Errorf("--all lists %d LL004 findings, want every one", n)
	}
}
