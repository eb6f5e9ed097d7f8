package dive

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/overlay"
)

// maxWorkPerEntry bounds the tree nodes the calculator may visit, build,
// copy or look up per tar entry of an image. A linear calculator stays
// under ten whatever the image; dive's own, which stacks the lower layers
// again for every whiteout it sizes, does hundreds to thousands on the
// images below.
const maxWorkPerEntry = 16

// workPerEntry feeds the layers to a calculator and returns its work per
// entry.
func workPerEntry(t *testing.T, layers []*overlay.Changeset) float64 {
	t.Helper()
	c := NewCalculatorFor(len(layers))
	entries := 0
	for _, cs := range layers {
		entries += cs.Len()
		c.AddLayer(cs)
	}
	_ = c.Result()
	return float64(c.work) / float64(entries)
}

// TestWhiteoutWorkLinear: on the image of fixtures.Whiteouts, whose second
// layer deletes files of the first one by one, the work per entry is the
// same few nodes whether the layer deletes 250 files or 4,000. dive's
// work grows with whiteouts × files (it took minutes on 8,000 of 40,000,
// see docs/performance.md); counted here in nodes, never in time.
func TestWhiteoutWorkLinear(t *testing.T) {
	t.Parallel()
	const files = 10000
	var first float64
	for _, deletes := range []int{250, 4000} {
		img := fixtures.Whiteouts(1, files, deletes, 1<<20)
		var layers []*overlay.Changeset
		for i := range img.Layers() {
			l, err := img.Layer(i)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := overlay.ReadChangeset(bytes.NewReader(l.Tar()), overlay.ReadOptions{})
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			layers = append(layers, cs)
		}
		w := workPerEntry(t, layers)
		t.Logf("%d of %d files deleted: %.2f nodes per entry", deletes, files, w)
		if w > maxWorkPerEntry {
			t.Errorf("%d of %d files deleted: %.1f nodes per entry, want at most %d", deletes, files, w, maxWorkPerEntry)
		}
		if first == 0 {
			first = w
		} else if w > first*1.5 {
			t.Errorf("%.2f nodes per entry with 250 whiteouts, %.2f with 4,000: the work grows with the whiteouts", first, w)
		}
	}
}

// TestNestedDirectoryWhiteoutsLinear: a layer that deletes a directory and,
// one by one, each directory nested inside it sizes each against the
// lower layers' subtree; summing every subtree afresh would cost the depth
// times the files below.
func TestNestedDirectoryWhiteoutsLinear(t *testing.T) {
	t.Parallel()
	const depth, files = 200, 2000
	var lower, upper []overlay.Entry
	for i := range depth {
		d := strings.Repeat("d/", i) + "d"
		lower = append(lower, dir(d), file(d+"/f", 1))
		upper = append(upper, whiteout(d))
	}
	bottom := strings.Repeat("d/", depth)
	for i := range files {
		lower = append(lower, file(fmt.Sprintf("%sf%d", bottom, i), 10))
	}
	w := workPerEntry(t, []*overlay.Changeset{layer(lower...), layer(upper...)})
	t.Logf("%.2f nodes per entry", w)
	if w > maxWorkPerEntry {
		t.Errorf("%.1f nodes per entry, want at most %d", w, maxWorkPerEntry)
	}
}
