package main

import (
	"strings"
	"testing"
)

// TestFixStripNothing: a --strip that would remove nothing says so and
// fails as a usage error, for a glob and for a rule.
func TestFixStripNothing(t *testing.T) {
	for _, tt := range []struct{ strip, says string }{
		{"no/such/*", `strip pattern "no/such/*" matches nothing in the image`},
		{"LL011", "--strip LL011 strips nothing"},
	} {
		code, stdout, errs := runCLI(t, "fix", "--squash", "all", "--base-layers", "0", "--strip", tt.strip, "--dry-run", sample)
		if code != ExitInput || !strings.Contains(errs, tt.says) {
			t.Errorf("--strip %s: exit %d, want %d saying %q\n%s\n%s", tt.strip, code, ExitInput, tt.says, stdout, errs)
		}
	}
}
