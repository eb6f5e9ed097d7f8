package kernel

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/overlay"
)

// snapshot records every path under root, except skip, with what an
// escaping write would change: type, mode, size, content, link target.
func snapshot(t *testing.T, root, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d", fi.Mode(), fi.Size())
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + l
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return out
}

// Hostile tars must never write outside the layer's folder: the sandbox
// holds the work folder and an "outside" directory that every symlink of
// the tars points at; after each stack, the sandbox outside the work
// folder must be unchanged, whether the stack was refused or unpacked.
func TestHostileTars(t *testing.T) {
	needKernel(t)
	sandbox := t.TempDir()
	outside := filepath.Join(sandbox, "outside")
	if err := os.MkdirAll(filepath.Join(outside, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	canary := filepath.Join(outside, "canary")
	if err := os.WriteFile(canary, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	// From work/N/layers/M/x, four levels up is the sandbox.
	rel := "../../../../outside"
	cases := map[string]struct {
		layers  [][]ent
		refused bool
	}{
		"dotdot name":          {layers: [][]ent{{file("../outside/pwned", "x")}}, refused: true},
		"dotdot inside name":   {layers: [][]ent{{file("a/../../outside/pwned", "x")}}, refused: true},
		"dotdot hard link":     {layers: [][]ent{{hardlink("l", "../outside/canary")}}, refused: true},
		"absolute name":        {layers: [][]ent{{file(outside+"/pwned", "x"), file("/pwned2", "x")}}},
		"absolute hard link":   {layers: [][]ent{{hardlink("l", canary)}}},
		"symlink parent (abs)": {layers: [][]ent{{symlink("a", outside), file("a/pwned", "x"), dir("a/sub"), fifo("a/fifo")}}},
		"symlink parent (rel)": {layers: [][]ent{{symlink("a", rel), file("a/pwned", "x"), file("a/canary", "overwritten")}}},
		"symlink then same name": {layers: [][]ent{{
			symlink("c", canary), file("c", "overwritten"),
			symlink("d", outside), dir("d").withMode(0o700),
			symlink("m", canary), chardev("m", 1, 3),
		}}},
		"hard link to symlink": {layers: [][]ent{{symlink("s", canary), hardlink("h", "s"), file("h", "overwritten")}}},
		"hard link through symlink": {layers: [][]ent{
			{symlink("s", outside)},
			{hardlink("h", "s/canary"), symlink("t", outside), hardlink("h2", "t/canary")},
		}},
		"whiteouts through symlinks": {layers: [][]ent{
			{symlink("d", outside), symlink("e", rel)},
			{whiteout("d/canary"), opaque("e"), whiteout("e/sub"), opaque("d/sub")},
		}},
		"same-layer whiteouts through symlinks": {layers: [][]ent{
			{symlink("d", outside), whiteout("d/canary"), opaque("d"), opaque("d/sub")},
		}},
		"symlink in lower, entries above": {layers: [][]ent{
			{symlink("d", outside), symlink("f", canary)},
			{file("d/pwned", "x"), file("d/canary", "overwritten"), dir("d/sub"), hardlink("f2", "f"), file("f", "overwritten")},
		}},
		"xattr and mode through symlink": {layers: [][]ent{
			{symlink("d", outside)},
			{dir("d").withMode(0o000).withXattr("user.pwned", "1"), file("d/canary", "x").withMode(0o777)},
		}},
	}
	before := snapshot(t, sandbox, "")
	i := 0
	for name, c := range cases {
		i++
		t.Run(name, func(t *testing.T) {
			work := filepath.Join(sandbox, "work", fmt.Sprint(i))
			tars := tarsOf(t, c.layers)
			_, err := MergedView(context.Background(), openers(tars), work)
			switch {
			case c.refused && !errors.Is(err, overlay.ErrUnsafePath):
				t.Errorf("want ErrUnsafePath, got %v", err)
			case !c.refused && err != nil:
				t.Errorf("unpacking: %v", err)
			}
			after := snapshot(t, sandbox, filepath.Join(sandbox, "work"))
			for p, d := range after {
				if before[p] != d {
					t.Errorf("%s changed outside the work folder: %q -> %q", p, before[p], d)
				}
			}
			for p := range before {
				if _, ok := after[p]; !ok {
					t.Errorf("%s removed outside the work folder", p)
				}
			}
			// Nothing written under the layer folders may be a way out
			// either: every symlink stays a symlink, never a directory
			// that was followed.
			if !c.refused {
				checkModel(t, c.layers, tars, work)
			}
		})
	}
}

// checkModel compares the kernel view left in work with the model.
func checkModel(t *testing.T, layers [][]ent, tars [][]byte, work string) {
	t.Helper()
	got, err := MergedView(context.Background(), openers(tars), work+".again")
	if err != nil {
		t.Fatalf("kernel: %v", err)
	}
	if diffs := overlay.Compare(modelView(t, tars), got, compareOpts); len(diffs) > 0 {
		t.Errorf("model (want) and kernel (got) disagree:\n%s\nstack:\n%s", formatDiffs(diffs), formatStack(layers))
	}
}

// Many layers: more than the classic option page allows, through
// lowerdir+.
func TestManyLayers(t *testing.T) {
	needKernel(t)
	n := 200
	if testing.Short() {
		n = 40
	}
	layers := make([][]ent, n)
	for i := range layers {
		layers[i] = []ent{file(fmt.Sprintf("d/f%03d", i), fmt.Sprint(i)), file("top", fmt.Sprint(i))}
		if i > 0 && i%3 == 0 {
			layers[i] = append(layers[i], whiteout(fmt.Sprintf("d/f%03d", i-1)))
		}
		if i%50 == 49 {
			layers[i] = append(layers[i], opaque("d"))
		}
	}
	v := checkAgainstModel(t, layers...)
	wantHash(t, v, "top", fmt.Sprint(n-1))
	wantFile(t, v, fmt.Sprintf("d/f%03d", n-1), overlay.TypeRegular)
	wantAbsent(t, v, "d/f000")
}

// Paths longer than PATH_MAX: parents are opened a few components at a
// time.
func TestLongPaths(t *testing.T) {
	needKernel(t)
	var parts []string
	for i := range 45 {
		parts = append(parts, fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 120)))
	}
	deep := strings.Join(parts, "/")
	if len(deep) < 5000 {
		t.Fatalf("path of %d bytes is not long enough", len(deep))
	}
	v := checkAgainstModel(t,
		[]ent{file(deep+"/a", "a"), file(deep+"/b", "b"), dir(deep + "/d"), file(deep+"/d/e", "e")},
		[]ent{whiteout(deep + "/a"), opaque(deep + "/d"), hardlink(deep+"/c", deep+"/b"), file(deep+"/d/f", "f")},
	)
	wantAbsent(t, v, deep+"/a", deep+"/d/e")
	wantHash(t, v, deep+"/c", "b")
	wantFile(t, v, deep+"/d/f", overlay.TypeRegular)
}
