package analyze_test

// Hostile images at the library level: caps wrap ErrCapExceeded and name
// the flag, a bomb after the tar's end stops at the cap, and analysis
// writes nothing to disk. See docs/security.md.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// TestCapErrors: every cap ends in ErrCapExceeded, names the layer and
// the path where there is one, and says which cap (CapError.Limit) so that
// the CLI can name the flag that raises it (cmd's hostile tests check the
// flag in the message).
func TestCapErrors(t *testing.T) {
	t.Parallel()
	big := fixtures.NewImage().
		Add(fixtures.NewLayer().File("a", make([]byte, 50_000)).File("b", make([]byte, 50_000))).
		Add(fixtures.NewLayer().File("c", make([]byte, 50_000)).Trailing(make([]byte, 200_000)))
	dir := t.TempDir()
	if _, err := big.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	img := openOne(t, dir, source.Options{Verify: true})
	tests := []struct {
		name  string
		opts  analyze.Options
		has   []string
		limit analyze.Limit
	}{
		{"layer bytes", analyze.Options{MaxLayerBytes: 60_000}, []string{"layer 0 (sha256:", `"b"`}, analyze.LimitLayerBytes},
		{"layer entries", analyze.Options{MaxLayerEntries: 1}, []string{"layer 0 (sha256:"}, analyze.LimitLayerEntries},
		{"image bytes", analyze.Options{MaxImageBytes: 120_000}, []string{"layer 1 (sha256:"}, analyze.LimitImageBytes},
		{"data after the end of the tar", analyze.Options{MaxLayerBytes: 150_000}, []string{"layer 1 (sha256:", "after the end of the tar"}, analyze.LimitLayerBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Verify = true
			_, err := analyze.Analyze(context.Background(), img, tt.opts)
			if !errors.Is(err, analyze.ErrCapExceeded) {
				t.Fatalf("got %v, want ErrCapExceeded", err)
			}
			for _, h := range tt.has {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("error %q lacks %q", err, h)
				}
			}
			var ce *analyze.CapError
			if !errors.As(err, &ce) || ce.Limit != tt.limit {
				t.Errorf("error %q: want a CapError of limit %d", err, tt.limit)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a flag: only the CLI does", err)
			}
		})
	}
	// Trailing zeros within the cap are fine (tar writers pad), and the
	// digests still cover them.
	if _, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, MaxLayerBytes: 300_000}); err != nil {
		t.Errorf("within the caps: %v", err)
	}
}

// fsState records every path under root (see testsupport.TreeState).
func fsState(t *testing.T, root string) map[string]string {
	t.Helper()
	s, err := testsupport.TreeState(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameState(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, d := range after {
		if before[p] != d {
			t.Errorf("%s: %s changed: %q -> %q", what, p, before[p], d)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: %s removed", what, p)
		}
	}
}

// TestAnalysisWritesNothing: analyzing, successfully or not, writes
// nothing: not in the image's directory or archive, not in TMPDIR. As
// root a read-only mode would not stop a write, so the test compares the
// trees before and after instead, with TMPDIR a fresh empty directory.
func TestAnalysisWritesNothing(t *testing.T) {
	images := t.TempDir()
	layout := filepath.Join(images, "layout")
	if _, err := fixtures.Sample().WriteOCILayout(layout); err != nil {
		t.Fatal(err)
	}
	if err := fixtures.Sample().WriteOCIArchive(filepath.Join(images, "oci.tar")); err != nil {
		t.Fatal(err)
	}
	if err := fixtures.Sample().WriteDockerArchive(filepath.Join(images, "docker.tar"), fixtures.DockerClassic, "x:1"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(images, "bad")
	w, err := fixtures.Sample().WriteOCILayout(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := testsupport.CorruptBlob(bad, w.Layers[2].Digest); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	before := fsState(t, images)

	for _, ref := range []string{layout, "oci-archive:" + filepath.Join(images, "oci.tar"), filepath.Join(images, "docker.tar"), bad} {
		src, err := source.Open(ref, source.Options{Verify: true})
		if err != nil {
			t.Fatalf("opening %s: %v", ref, err)
		}
		for _, img := range src.Images() {
			_, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, ExactWire: true})
			if (err != nil) != (ref == bad) {
				t.Errorf("analyzing %s: %v", ref, err)
			}
			// A capped run fails part way through, with readers open.
			if _, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, MaxLayerBytes: 100}); err == nil {
				t.Errorf("analyzing %s with a tiny cap succeeded", ref)
			}
		}
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	}
	sameState(t, "image directory", before, fsState(t, images))
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Errorf("TMPDIR holds %v (%v)", entries, err)
	}
}
