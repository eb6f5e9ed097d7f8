package overlay

import "testing"

// TestOrigin: every regular file of the view names the tar entry that wrote
// its bytes (layer, position of the header in that layer's tar); hard
// links share their version's origin, and a rewrite of the same bytes is a
// new origin.
func TestOrigin(t *testing.T) {
	t.Parallel()
	m := stack(t,
		[]ent{dir("etc"), file("etc/a", "x"), file("etc/b", "y"), hardlink("etc/c", "etc/a")},
		[]ent{file("etc/b", "y"), whiteout("etc/nothing"), file("etc/d", "z")},
	)
	want := map[string]Origin{
		"etc/a": {Layer: 0, Entry: 1},
		"etc/c": {Layer: 0, Entry: 1},
		"etc/b": {Layer: 1, Entry: 0},
		"etc/d": {Layer: 1, Entry: 2},
	}
	for p, o := range want {
		f, ok := m.Lookup(p)
		if !ok {
			t.Fatalf("%s: not in the view", p)
		}
		if f.Origin != o {
			t.Errorf("%s: origin %+v, want %+v", p, f.Origin, o)
		}
	}
	if f, _ := m.Lookup("etc"); f.Origin != (Origin{}) {
		t.Errorf("directory etc: origin %+v, want none", f.Origin)
	}
	if (Origin{Layer: 0, Entry: 9}).Compare(Origin{Layer: 1, Entry: 0}) >= 0 {
		t.Error("origins order by layer first")
	}
}
