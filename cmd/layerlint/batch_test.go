package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
)

// batchImages writes n images that share the sample's four layers and
// add one of their own.
func batchImages(t *testing.T, n int) []string {
	t.Helper()
	var dirs []string
	for i := range n {
		img := fixtures.Sample()
		img.Add(fixtures.NewLayer().Dir("app").File("app/build-id", fmt.Appendf(nil, "%d\n", i)))
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("img%d", i))
		if _, err := img.WriteOCILayout(dir); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

func parseLines(t *testing.T, out string) []batchLine {
	t.Helper()
	var lines []batchLine
	for l := range strings.Lines(out) {
		var bl batchLine
		if err := json.Unmarshal([]byte(l), &bl); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, bl)
	}
	return lines
}

// TestBatch: several images, one line each in list order; a missing image
// gets an error line and the run's exit code; the shared base is decoded
// once across the batch.
func TestBatch(t *testing.T) {
	t.Parallel()
	imgs := batchImages(t, 4)
	refsFile := filepath.Join(t.TempDir(), "refs")
	missing := filepath.Join(t.TempDir(), "nothing-here")
	list := "# nightly\n" + strings.Join(imgs[:2], "\n") + "\n\n" + missing + "\n" + strings.Join(imgs[2:], "\n") + "\n"
	if err := os.WriteFile(refsFile, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	code, out, errs := runCLI(t, "analyze", "--cache-dir", cache, "--jobs", "3", "--refs", refsFile)
	if code != ExitInput {
		t.Errorf("exit %d, want %d (the missing image): %s", code, ExitInput, errs)
	}
	lines := parseLines(t, out)
	want := []string{imgs[0], imgs[1], missing, imgs[2], imgs[3]}
	var got []string
	decoded := 0
	for _, l := range lines {
		got = append(got, l.Reference)
		switch {
		case l.Reference == missing:
			if l.Error == "" || l.ExitCode != ExitInput || l.Report != nil {
				t.Errorf("missing image: %+v", l)
			}
		case l.Report == nil || l.DecodedLayers == nil:
			t.Errorf("%s: no report: %+v", l.Reference, l)
		default:
			decoded += *l.DecodedLayers
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines for %v, want %v", got, want)
	}
	// Four shared layers once, plus each image's own.
	if decoded != 4+4 {
		t.Errorf("decoded %d layers across the batch, want 8", decoded)
	}
	// The same images as arguments, all cached now: nothing decoded, and
	// the reports are the same as the first run's.
	code, out2, errs := runCLI(t, append([]string{"analyze", "--cache-dir", cache, "--jobs", "3"}, imgs...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for i, l := range parseLines(t, out2) {
		if l.DecodedLayers == nil || *l.DecodedLayers != 0 {
			t.Errorf("%s: decoded %v layers on a cached run", l.Reference, l.DecodedLayers)
		}
		first, _ := json.Marshal(lines[slices.Index(want, imgs[i])].Report)
		again, _ := json.Marshal(l.Report)
		if string(first) != string(again) {
			t.Errorf("%s: cached report differs", l.Reference)
		}
	}
	if code, _, errs := runCLI(t, "analyze", "--format", "text", imgs[0], imgs[1]); code != ExitInput || !strings.Contains(errs, "JSON Lines") {
		t.Errorf("--format text on a batch: exit %d, %s", code, errs)
	}
}

// TestShard: the shares of N workers cover the list once, and an image's
// share does not depend on its position.
func TestShard(t *testing.T) {
	t.Parallel()
	var refs []string
	for i := range 200 {
		refs = append(refs, fmt.Sprintf("registry.example/team/app%d:latest", i))
	}
	seen := map[string]int{}
	for i := range 7 {
		for _, r := range shard(refs, i, 7) {
			seen[r]++
		}
	}
	for _, r := range refs {
		if seen[r] != 1 {
			t.Fatalf("%s in %d shares", r, seen[r])
		}
	}
	rev := slices.Clone(refs)
	slices.Reverse(rev)
	a, b := shard(refs, 3, 7), shard(rev, 3, 7)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Error("share depends on list order")
	}
	for _, bad := range []string{"", "1", "7/7", "-1/3", "a/b", "0/0"} {
		if _, _, err := parseShard(bad); err == nil {
			t.Errorf("parseShard(%q): no error", bad)
		}
	}
}
