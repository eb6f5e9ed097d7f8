package testsupport

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ErrGoldenDiffers reports output that differs from its golden file.
var ErrGoldenDiffers = errors.New("differs from the golden file")

// GoldenFiles are the golden files of one package's tests, in
// testdata/golden, with the -update flag that rewrites them.
type GoldenFiles struct {
	update *bool
}

// NewGoldenFiles defines the -update flag of the test binary. A package
// whose tests compare golden files calls it once, in a package variable
// (flags are defined before the test binary parses them), and runs
// UpdateIsOff in a test of its own.
func NewGoldenFiles() *GoldenFiles {
	return &GoldenFiles{update: flag.Bool("update", false, "rewrite the golden files in testdata/golden")}
}

// Check compares got with the golden file testdata/golden/name, or, with
// -update, rewrites the file. A difference fails the test, which goes on.
func (g *GoldenFiles) Check(t testing.TB, name string, got []byte) {
	t.Helper()
	if err := golden(filepath.Join("testdata", "golden", name), got, *g.update); err != nil {
		t.Error(err)
	}
}

// UpdateIsOff fails the test while -update is given, so that a run that
// rewrote golden files never counts as a passing run.
func (g *GoldenFiles) UpdateIsOff(t testing.TB) {
	t.Helper()
	if *g.update {
		t.Fatal("-update rewrote the golden files; review them with git diff and run the tests again without it")
	}
}

// golden compares got with the file at path, or, with update, rewrites it.
func golden(path string, got []byte, update bool) error {
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (run go test %s -update to create it)", err, packageArg())
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s %w (go test %s -update rewrites it):\n--- got\n%s\n--- want\n%s", filepath.Base(path), ErrGoldenDiffers, packageArg(), got, want)
	}
	return nil
}

// packageArg names the package under test (the working directory of a
// test) as go test takes it from the module root: "./analyze".
func packageArg() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
