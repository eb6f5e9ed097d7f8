package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"layerlint"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// cliCase is one run of the CLI and what it must give: an exit code, and
// text that standard output and standard error contain ("" for any).
type cliCase struct {
	name     string
	args     []string
	code     int
	inStdout string
	inStderr string
}

// runCases runs each case, in order, as a subtest.
func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if !strings.Contains(out, tc.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.inStdout, out)
			}
			if !strings.Contains(errs, tc.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.inStderr, errs)
			}
		})
	}
}

const sample = "../../fixtures/testdata/sample"

func TestExitCodes(t *testing.T) {
	t.Parallel()
	bad := imagetest.CorruptSample(t, 1)
	notTar := filepath.Join(t.TempDir(), "x.tar")
	if err := os.WriteFile(notTar, []byte("not a tar at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []cliCase{
		{"analyze text", []string{"analyze", sample}, ExitOK, "Top wasted paths", ""},
		{"analyze json", []string{"analyze", "--format", "json", sample}, ExitOK, `"schemaVersion": 2`, ""},
		{"analyze html", []string{"analyze", "--format", "html", sample}, ExitOK, `<script type="application/json" id="report-data">{"kind":"analyze"`, ""},
		{"lint html", []string{"lint", "--format", "html", sample}, ExitOK, `<script type="application/json" id="report-data">{"kind":"lint"`, ""},
		{"ls", []string{"ls", sample, "etc"}, ExitOK, "/etc/app.conf", ""},
		{"ls as of layer 0", []string{"ls", "--layer", "0", sample, "tmp/build"}, ExitOK, "/tmp/build/main.o", ""},
		{"ls layer out of range", []string{"ls", "--layer", "9", sample}, ExitInput, "", "layers 0 to 3"},
		{"bad format", []string{"analyze", "--format", "yaml", sample}, ExitInput, "", "--format"},
		{"no argument", []string{"analyze"}, ExitInput, "", "expected one IMAGE"},
		{"missing image", []string{"analyze", "/nonexistent/image"}, ExitInput, "", "/nonexistent/image"},
		{"not an image", []string{"analyze", notTar}, ExitInput, "", "x.tar"},
		{"digest mismatch", []string{"analyze", bad}, ExitIntegrity, "", "digest mismatch"},
		{"unknown flag", []string{"analyze", "--frobnicate", sample}, ExitInput, "", "frobnicate"},
		{"docs are fresh", []string{"docs", "--check", "../../docs"}, ExitOK, "", ""},
	}
	runCases(t, tests)
}

func TestAnalyzePlatformAllJSON(t *testing.T) {
	t.Parallel()
	dir := imagetest.SampleIndex(t)
	code, out, errs := runCLI(t, "analyze", "--format", "json", "--platform", "all", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var reports []map[string]any
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 2 {
		t.Fatalf("want an array of 2 reports: %v (%d)", err, len(reports))
	}
	code, _, errs = runCLI(t, "analyze", "--platform", "linux/s390x", dir)
	if code != ExitInput || !strings.Contains(errs, "linux/arm64") {
		t.Errorf("missing platform: exit %d, stderr %s", code, errs)
	}
}

// TestMountAndVerify runs the kernel paths of the CLI; it needs root and
// overlayfs.
func TestMountAndVerify(t *testing.T) {
	testenv.NeedRoot(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	t.Setenv("LAYERLINT_MOUNT_STATE_DIR", stateDir)
	t.Setenv("LAYERLINT_UMOUNT_STATE_DIR", stateDir)
	code, _, errs := runCLI(t, "analyze", "--verify", sample)
	if code != ExitOK || !strings.Contains(errs, "same") {
		t.Fatalf("analyze --verify: exit %d\n%s", code, errs)
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "mount", sample, mnt)
	if code != ExitOK {
		t.Fatalf("mount: exit %d\n%s", code, errs)
	}
	t.Cleanup(func() { runCLI(t, "umount", mnt) })
	if !strings.Contains(out, "layerlint umount") {
		t.Errorf("mount output: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(mnt, "etc/app.conf"))
	if err != nil || !strings.Contains(string(b), "workers = 8") {
		t.Errorf("reading through the mount: %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "etc/secret.tmp")); !os.IsNotExist(err) {
		t.Errorf("whited-out file visible: %v", err)
	}
	if code, _, errs := runCLI(t, "umount", mnt); code != ExitOK {
		t.Fatalf("umount: exit %d\n%s", code, errs)
	}
	// Issue 9: a DIR with a planted state file beside it, naming a victim
	// as its work folder, is not a mount that layerlint made.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	planted := `{"target":"` + mnt + `","work":"` + victim + `"}`
	if err := os.WriteFile(filepath.Join(filepath.Dir(mnt), ".mnt.layerlint"), []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI(t, "umount", mnt)
	if code != ExitInput || !strings.Contains(errs, "not a mount that layerlint made") {
		t.Errorf("umount of a planted DIR: exit %d, want %d saying so\n%s", code, ExitInput, errs)
	}
	if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
		t.Errorf("umount deleted the victim named by a planted state file: %v", err)
	}
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, "mount", "--probe-copy-up", "/usr/bin/tool", sample, probe)
	if code != ExitOK || !strings.Contains(out, "/usr/bin/tool") || !strings.Contains(out, "1.2 kB") {
		t.Errorf("probe: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestMountChecksCapsFirst: mount analyzes the image with the caps before
// unpacking anything, so a bomb never reaches the disk.
func TestMountChecksCapsFirst(t *testing.T) {
	testenv.NeedRoot(t)
	parent := t.TempDir()
	mnt := filepath.Join(parent, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "mount", "--max-layer-entries", "3", sample, mnt)
	if code != ExitInput || !strings.Contains(errs, "--max-layer-entries") {
		t.Fatalf("exit %d, want %d naming the cap\n%s", code, ExitInput, errs)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("mount left files beside the target: %v", entries)
	}
}

// TestProbeThenLint: the copy-up cost measured by mount --probe-copy-up is
// quoted by lint's write-heavy finding.
func TestProbeThenLint(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "probe.json")
	code, _, errs := runCLI(t, "mount", "--probe-copy-up", "/var/log/app.log", "--probe-output", out, sample, probe)
	if code != ExitOK {
		t.Fatalf("probe: exit %d\n%s", code, errs)
	}
	code, stdout, errs := runCLI(t, "lint", "--copy-up", out, "--format", "json", sample)
	if code != ExitOK {
		t.Fatalf("lint: exit %d\n%s", code, errs)
	}
	if !strings.Contains(stdout, "measured on overlayfs: appending one byte copied up 57 bytes") {
		t.Errorf("LL006 does not quote the measured copy-up:\n%s", stdout)
	}
	if code, _, errs := runCLI(t, "lint", "--copy-up", filepath.Join(dir, "missing.json"), sample); code != ExitInput {
		t.Errorf("missing probe file: exit %d\n%s", code, errs)
	}
}

// TestAnalyzeCached: a second run served by the layer cache prints the
// same report, and --no-cache neither reads nor writes it.
func TestAnalyzeCached(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	var outs []string
	for range 2 {
		code, out, errs := runCLI(t, "analyze", "--format", "json", "--cache-dir", cache, sample)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] {
		t.Errorf("cached run differs:\n%s\n---\n%s", outs[0], outs[1])
	}
	entries, err := filepath.Glob(filepath.Join(cache, "*", "[0-9a-f]*")) // not the lock files
	if err != nil || len(entries) != 4 {
		t.Errorf("cache holds %v (%v), want the sample's 4 layers", entries, err)
	}
	empty := t.TempDir()
	if code, _, errs := runCLI(t, "analyze", "--no-cache", "--cache-dir", empty, sample); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("--no-cache wrote %d entries", len(entries))
	}
}
