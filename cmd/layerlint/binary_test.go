package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builtBinary is the layerlint binary, built once per test run for the
// tests that must run it as a user or a CI job would (shell completion,
// CI recipes, the pre-push hook): its directory goes first on PATH.
var builtBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "layerlint-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "layerlint")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{out: out, err: err}
	}
	return bin, nil
})

type buildError struct {
	out []byte
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + string(e.out) }

// binaryDir builds layerlint and returns the directory that holds it.
func binaryDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin, err := builtBinary()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(bin)
}

// pathWith is PATH with dir first.
func pathWith(dir string) string {
	return "PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")
}
