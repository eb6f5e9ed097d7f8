//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestUserFilesNeverBlock: every file that lint reads besides the image
// is refused, quickly and by name, when it is a FIFO (which used to hang
// the run), a device (/dev/zero used to fill the memory), a directory or
// over the size cap; a configuration of two YAML documents is an error,
// not its first document.
func TestUserFilesNeverBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, []byte(strings.Repeat("#\n", 9<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	twoDocs := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(twoDocs, []byte("failOn: error\n---\nfailOn: never\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--config", "--dive-ci", "--baseline", "--dockerfile", "--copy-up"} {
		for _, tc := range []struct{ path, has string }{
			{fifo, "not a regular file (a FIFO)"},
			{"/dev/zero", "not a regular file (a character device)"},
			{dir, "not a regular file (a directory)"},
			{huge, "more than 16777216 (cap)"},
		} {
			code, _, errs := runCLI(t, "lint", flag, tc.path, sample)
			if code != ExitInput || !strings.Contains(errs, tc.path) || !strings.Contains(errs, tc.has) {
				t.Errorf("lint %s %s: exit %d, want %d naming the file and %q:\n%s", flag, tc.path, code, ExitInput, tc.has, errs)
			}
		}
	}
	code, _, errs := runCLI(t, "analyze", "--refs", fifo)
	if code != ExitInput || !strings.Contains(errs, fifo) || !strings.Contains(errs, "a FIFO") {
		t.Errorf("analyze --refs FIFO: exit %d:\n%s", code, errs)
	}
	code, _, errs = runCLI(t, "lint", "--config", twoDocs, sample)
	if code != ExitInput || !strings.Contains(errs, "two.yaml: line 2: a second YAML document") {
		t.Errorf("two documents: exit %d:\n%s", code, errs)
	}

	// An auto-discovered .layerlint.yaml that is a FIFO.
	wd := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(wd, ".layerlint.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	code, _, errs = runCLI(t, "lint", abs)
	if code != ExitInput || !strings.Contains(errs, ".layerlint.yaml") || !strings.Contains(errs, "a FIFO") {
		t.Errorf("discovered FIFO: exit %d:\n%s", code, errs)
	}
}
