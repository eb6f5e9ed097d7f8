package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
)

// TestForgedHashCollision: two different contents with the same XXH64 (as
// an attacker makes them in microseconds) are not the same file. Layer 0
// holds a and b, which collide, and c; layer 1 replaces c by content that
// collides with it, with a new mode. Neither LL004 (duplicates) nor LL003 (metadata-only copy) may claim
// sameness, and fix --strip LL004 must keep both files: a claim that a
// user acts on rests on SHA-256.
func TestForgedHashCollision(t *testing.T) {
	t.Parallel()
	a, b := fixtures.XXH64Collision(1, 4096)
	c0, c1 := fixtures.XXH64Collision(2, 4096)
	dir, _ := layoutOf(t, fixtures.NewImage().
		Add(fixtures.NewLayer().File("app/a", a).File("app/b", b).File("app/c", c0)).
		Add(fixtures.NewLayer().File("app/c", c1, fixtures.Mode(0o755))))
	code, out, errs := runCLI(t, "lint", "--format", "json", dir)
	if code != ExitOK && code != ExitFailed {
		t.Fatalf("lint: exit %d: %s", code, errs)
	}
	var rep struct {
		Findings []struct {
			Rule    string `json:"rule"`
			Message string `json:"message"`
		} `json:"findings"`
		Summary struct {
			MetadataOnlyBytes int64 `json:"metadataOnlyBytes"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Rule == "LL004" || f.Rule == "LL003" {
			t.Errorf("a forged claim of sameness: %s %s", f.Rule, f.Message)
		}
	}
	if rep.Summary.MetadataOnlyBytes != 0 {
		t.Errorf("metadata-only bytes %d, want 0: the content changed", rep.Summary.MetadataOnlyBytes)
	}

	// Layer 1 left out: a and b side by side, and a strip of LL004.
	two, _ := layoutOf(t, fixtures.NewImage().Add(fixtures.NewLayer().File("app/a", a).File("app/b", b)))
	outDir := filepath.Join(t.TempDir(), "out")
	code, stdout, errs := runCLI(t, "fix", "--squash", "all", "--base-layers", "0", "--strip", "LL004", "--output", outDir, two)
	if code != ExitOK {
		t.Fatalf("fix: exit %d\n%s\n%s", code, stdout, errs)
	}
	if strings.Contains(stdout, "stripped") {
		t.Errorf("fix stripped a unique file:\n%s", stdout)
	}
	code, ls, errs := runCLI(t, "ls", outDir, "app")
	if code != ExitOK {
		t.Fatalf("ls: exit %d\n%s", code, errs)
	}
	if !strings.Contains(ls, "/app/a\n") || !strings.Contains(ls, "/app/b\n") {
		t.Errorf("fix --strip LL004 lost a unique file:\n%s", ls)
	}
}
