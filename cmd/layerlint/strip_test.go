package main

import (
	"strings"
	"testing"
)

// TestFixStripNothing: a --strip glob that matches nothing says so and
// fails as a usage error; a --strip LLxxx whose rule finds nothing says so
// and goes on (an image without the problem is what the strip is for).
func TestFixStripNothing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		strip, says string
		code        int
	}{
		{"no/such/*", `strip pattern "no/such/*" matches nothing in the image`, ExitInput},
		{"LL011", "--strip LL011 removes nothing", ExitOK},
	} {
		code, stdout, errs := runCLI(t, "fix", "--squash", "all", "--base-layers", "0", "--strip", tt.strip, "--dry-run", sample)
		if code != tt.code || !strings.Contains(errs, tt.says) {
			t.Errorf("--strip %s: exit %d, want %d saying %q\n%s\n%s", tt.strip, code, tt.code, tt.says, stdout, errs)
		}
	}
}
