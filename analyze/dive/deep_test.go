package dive

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/overlay"
)

// stackReference is dive's FileTree.Stack as layerlint first wrote it:
// every node of upper resolves its full path from the root again. It is
// quadratic in the depth of upper; stack must do exactly what it does.
func (n *node) stackReference(upper *node) {
	var walk func(u *node, dir string)
	walk = func(u *node, dir string) {
		for _, name := range u.sortedNames() {
			c := u.children[name]
			walk(c, joinPath(dir, name))
			if kind, rest := overlay.ClassifyName(name); kind != overlay.NamePlain {
				n.remove(joinPath(dir, rest))
			} else {
				n.add(joinPath(dir, name), c.data, true)
			}
		}
	}
	walk(upper, "")
}

// remove deletes the subtree at p. A missing path or the root is left
// alone: dive records those as failed paths and carries on.
func (n *node) remove(p string) {
	dir, name := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	if name == "" {
		// A trailing slash names the directory itself in dive's GetNode.
		if dir == "" {
			return
		}
		n.remove(dir)
		return
	}
	parent := n.lookup(dir)
	if parent == nil {
		return
	}
	delete(parent.children, name)
}

func sameTree(a, b *node, p string) error {
	if a.data != b.data {
		return fmt.Errorf("%q: payload %+v, reference %+v", p, a.data, b.data)
	}
	if len(a.children) != len(b.children) {
		return fmt.Errorf("%q: children %v, reference %v", p, a.sortedNames(), b.sortedNames())
	}
	for name, ca := range a.children {
		cb := b.children[name]
		if cb == nil {
			return fmt.Errorf("%q: child %q not in the reference", p, name)
		}
		if err := sameTree(ca, cb, joinPath(p, name)); err != nil {
			return err
		}
	}
	return nil
}

// TestStackMatchesReference: on random layers built from the names that
// matter to dive (whiteouts, ".wh." alone, ".wh..wh." prefixes, as leaves
// and as directories), stack leaves the same tree as the reference.
func TestStackMatchesReference(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "c", ".wh.a", ".wh.b", ".wh.", ".wh..wh.x", ".wh..wh..opq"}
	r := rand.New(rand.NewPCG(1, 2))
	randPath := func() string {
		parts := make([]string, 1+r.IntN(4))
		for i := range parts {
			parts[i] = names[r.IntN(len(names))]
		}
		return strings.Join(parts, "/")
	}
	randLayer := func() *overlay.Changeset {
		var es []overlay.Entry
		for range 1 + r.IntN(8) {
			p := randPath()
			switch r.IntN(4) {
			case 0:
				es = append(es, dir(p))
			case 1:
				es = append(es, whiteout(p))
			case 2:
				es = append(es, opaque(p))
			default:
				es = append(es, file(p, int64(r.IntN(100))))
			}
		}
		return layer(es...)
	}
	for i := range 5000 {
		lower, _ := layerTree(randLayer())
		upper, _ := layerTree(randLayer())
		want, _ := lower.clone()
		want.stackReference(upper)
		lower.stack(upper)
		if err := sameTree(lower, want, ""); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
	}
}

// TestDeepPathLinear: the work of the dive metrics grows linearly with the
// depth of a path, counted in bytes allocated (never in time): a path
// twice as deep may cost about twice as much, not four times.
func TestDeepPathLinear(t *testing.T) {
	cost := func(depth int) uint64 {
		deep := strings.Repeat("d/", depth)
		layers := []*overlay.Changeset{
			layer(file(deep+"f", 10)),
			layer(file(deep+"f", 20), file(deep+"g", 1)),
			layer(whiteout(deep + "g")),
		}
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		c := NewCalculator()
		for _, l := range layers {
			c.AddLayer(l)
		}
		_ = c.Result()
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small, big := cost(2000), cost(8000)
	if ratio := float64(big) / float64(small); ratio > 6 {
		t.Errorf("depth 2000: %d bytes allocated, depth 8000: %d (%.1f times; linear is 4, quadratic 16)", small, big, ratio)
	}
}
