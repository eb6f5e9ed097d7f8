package overlay

import (
	"bytes"
	"testing"
)

// FuzzModel feeds arbitrary layer stacks to the model. The input is split
// into layers at each "\x00LAYER\x00" separator; each part is read as a tar
// (most fuzzed inputs are not tars, and must fail cleanly). The model must
// not panic and must keep its invariants.
func FuzzModel(f *testing.F) {
	sep := []byte("\x00LAYER\x00")
	seed := func(layers ...[]ent) []byte {
		var parts [][]byte
		for _, l := range layers {
			parts = append(parts, layerTar(f, l...))
		}
		return bytes.Join(parts, sep)
	}
	f.Add(seed([]ent{file("a/b", "x"), hardlink("c", "a/b")}, []ent{whiteout("a"), opaque("d"), file("d/e", "y")}))
	f.Add(seed([]ent{file("p", "1")}, []ent{file("p/q", "2"), symlink("s", "p")}, []ent{file("p", "3"), whiteout("s")}))
	f.Add(seed([]ent{dir("x"), file("x/.wh..wh..opq", ""), file(".wh..wh.plnk/1", "z")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, mc := NewModel(), NewModel()
		var total int64
		for _, part := range bytes.Split(data, sep) {
			cs, err := ReadChangeset(bytes.NewReader(part), ReadOptions{MaxEntries: 10000, MaxContentBytes: 1 << 24})
			if err != nil {
				continue
			}
			total += cs.ContentBytes
			m.Apply(cs)
			cs, _ = ReadChangeset(bytes.NewReader(part), ReadOptions{MaxEntries: 10000, MaxContentBytes: 1 << 24})
			mc.Consume(cs)
		}
		checkInvariants(t, m, total)
		sameModel(t, m, mc)
	})
}

// checkInvariants verifies what must hold for any stack: paths are unique
// and ordered, every parent is a listed directory, and content bytes are
// conserved: visible plus wasted equals shipped.
func checkInvariants(t testing.TB, m *Model, shipped int64) {
	t.Helper()
	files := m.Files()
	dirs := map[string]bool{"": true}
	seen := map[string]bool{}
	extras := 0
	for _, f := range files {
		if f.Linkname != "" || f.Xattrs != nil || f.Devmajor != 0 || f.Devminor != 0 {
			extras++
		}
		if seen[f.Path] {
			t.Fatalf("path %q listed twice", f.Path)
		}
		seen[f.Path] = true
		parent, _ := splitPath(f.Path)
		if !dirs[parent] {
			t.Fatalf("parent of %q is not a directory of the view", f.Path)
		}
		if f.Type == TypeDir {
			dirs[f.Path] = true
		}
		if f.Type != TypeRegular && f.Size != 0 {
			t.Fatalf("%s %q has size %d", f.Type, f.Path, f.Size)
		}
	}
	if len(m.extras) != extras {
		t.Fatalf("the model keeps %d nodes' extras for %d paths of the view that have any", len(m.extras), extras)
	}
	_, visible := m.VisibleBytes()
	var wasted int64
	for _, w := range m.Waste() {
		if w.Size < 0 || w.HiddenBy < w.Layer {
			t.Fatalf("bad waste record %+v", w)
		}
		wasted += w.Size
	}
	if visible+wasted != shipped {
		t.Fatalf("visible %d + wasted %d != shipped %d", visible, wasted, shipped)
	}
}
