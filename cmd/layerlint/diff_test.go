package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
)

// diffPair writes the named pair of fixtures.DiffPairs and returns the
// old and new layouts.
func diffPair(t *testing.T, name string) (string, string) {
	t.Helper()
	for _, p := range fixtures.DiffPairs() {
		if p.Name != name {
			continue
		}
		dir := t.TempDir()
		old, nw := filepath.Join(dir, "old"), filepath.Join(dir, "new")
		if _, err := p.Old.WriteOCILayout(old); err != nil {
			t.Fatal(err)
		}
		if _, err := p.New.WriteOCILayout(nw); err != nil {
			t.Fatal(err)
		}
		return old, nw
	}
	t.Fatalf("no pair %s", name)
	return "", ""
}

func TestDiffExitCodes(t *testing.T) {
	t.Parallel()
	empty := writeTemp(t, ".layerlint.yaml", "")
	old, nw := diffPair(t, "base-update")
	bad := imagetest.CorruptSample(t, 1)
	tests := []cliCase{
		{"text", []string{"diff", "--config", empty, old, nw}, ExitOK, "Layers (1 shared, 2 added, 3 removed)", ""},
		{"json", []string{"diff", "--config", empty, "--format", "json", old, nw}, ExitOK, `"schemaVersion": 1`, ""},
		{"markdown", []string{"diff", "--config", empty, "--format", "markdown", old, nw}, ExitOK, "<details>", ""},
		{"html", []string{"diff", "--config", empty, "--format", "html", old, nw}, ExitOK, `<script type="application/json" id="report-data">{"kind":"diff"`, ""},
		{"growth within the limit", []string{"diff", "--config", empty, "--max-growth", "1MB", old, nw}, ExitOK, "max-growth   pass", ""},
		{"growth over the limit", []string{"diff", "--config", empty, "--max-growth", "10%", old, nw}, ExitFailed, "max-growth   FAIL", ""},
		{"new warning", []string{"diff", "--config", empty, "--fail-on-new", "warning", old, nw}, ExitFailed, "fail-on-new  FAIL", ""},
		{"new error", []string{"diff", "--config", empty, "--fail-on-new", "error", old, nw}, ExitOK, "fail-on-new  pass", ""},
		{"same image", []string{"diff", "--config", empty, "--max-growth", "0", "--fail-on-new", "info", nw, nw}, ExitOK, "no file changed", ""},
		{"one argument", []string{"diff", old}, ExitInput, "", "expected two arguments"},
		{"bad format", []string{"diff", "--format", "sarif", old, nw}, ExitInput, "", "text, json, markdown (or html)"},
		{"bad growth", []string{"diff", "--max-growth", "lots", old, nw}, ExitInput, "", "max-growth \"lots\""},
		{"bad level", []string{"diff", "--fail-on-new", "fatal", old, nw}, ExitInput, "", "fail-on-new \"fatal\""},
		{"missing image", []string{"diff", "--config", empty, old, "/nonexistent/image"}, ExitInput, "", "/nonexistent/image"},
		{"digest mismatch", []string{"diff", "--config", empty, old, bad}, ExitIntegrity, "", "digest mismatch"},
	}
	runCases(t, tests)
}

// TestDiffOutputFile: --output writes the report whole and says the
// verdict on standard error.
func TestDiffOutputFile(t *testing.T) {
	t.Parallel()
	empty := writeTemp(t, ".layerlint.yaml", "")
	old, nw := diffPair(t, "app-only")
	out := filepath.Join(t.TempDir(), "diff.json")
	code, _, errs := runCLI(t, "diff", "--config", empty, "--format", "json", "--output", out, "--fail-on-new", "warning", old, nw)
	if code != ExitOK || !strings.Contains(errs, "diff: pass") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		SharedLayers int  `json:"sharedLayers"`
		BaseChanged  bool `json:"baseChanged"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.SharedLayers != 2 || r.BaseChanged {
		t.Errorf("report %+v (%v)", r, err)
	}
}

// TestReadmeDiffComment: the PR comment the README shows is what the
// command above it prints on the fixture images, byte for byte.
func TestReadmeDiffComment(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const open, end = "````markdown\n", "````\n"
	i := strings.Index(string(readme), open)
	if i < 0 {
		t.Fatal("README.md has no ````markdown block")
	}
	want := string(readme[i+len(open):])
	want = want[:strings.Index(want, end)]

	dir := t.TempDir()
	for _, p := range fixtures.DiffPairs() {
		if _, err := p.Old.WriteOCILayout(filepath.Join(dir, p.Name+"-old")); err != nil {
			t.Fatal(err)
		}
		if _, err := p.New.WriteOCILayout(filepath.Join(dir, p.Name+"-new")); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	code, got, errs := runCLI(t, "diff", "--format", "markdown", "--max-growth", "10%", "--fail-on-new", "warning", "base-update-old", "base-update-new")
	if code != ExitFailed {
		t.Errorf("exit %d, want 1: %s", code, errs)
	}
	if got != want {
		t.Errorf("README.md's comment differs from the command's output; paste this:\n%s", got)
	}
}
