// Package testenv lets tests that need a real component (root, the kernel's
// overlayfs, a registry, Podman, Chromium, Redis, dive's data) skip on a
// developer's machine and fail in CI, where .ci/run provides every one of them.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StrictVar is the environment variable that .ci/run sets: while it is
// non-empty, Skip fails the test instead of skipping it.
const StrictVar = "LAYERLINT_NO_SKIP"

// Strict reports whether skips are failures in this run.
func Strict() bool { return os.Getenv(StrictVar) != "" }

// Skip skips t with the reason, or fails it when the run is strict: a test
// that could not run in CI is a missing install step, not a pass.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s is set, so this skip is a failure: "+format, append([]any{StrictVar}, args...)...)
	}
	t.Skipf(format, args...)
}

// NeedRoot skips (or, when strict, fails) unless the test runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// LookPath returns the path of the program, skipping (or, when strict,
// failing) the test when it is not installed.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s is not installed (.ci/run installs it): %v", name, err)
	}
	return p
}
