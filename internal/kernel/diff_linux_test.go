package kernel

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/layerlint/layerlint/overlay"
)

var (
	diffSeed   = flag.Uint64("kernel.seed", 1, "first seed of the random stacks of TestKernelVsModel")
	diffStacks = flag.Int("kernel.stacks", 300, "number of random stacks TestKernelVsModel compares")
)

// chooser is where a generated stack takes its decisions from: a seeded
// random source for the differential test, the fuzzer's bytes for the
// fuzz target.
type chooser interface {
	intN(n int) int
	done() bool
}

type rngChooser struct{ r *rand.Rand }

func (c rngChooser) intN(n int) int { return c.r.IntN(n) }
func (c rngChooser) done() bool     { return false }

// byteChooser reads one decision per byte and answers 0 once the bytes run
// out.
type byteChooser struct{ b []byte }

func (c *byteChooser) intN(n int) int {
	if len(c.b) == 0 {
		return 0
	}
	v := int(c.b[0]) % n
	c.b = c.b[1:]
	return v
}
func (c *byteChooser) done() bool { return len(c.b) == 0 }

func pick[T any](c chooser, xs ...T) T { return xs[c.intN(len(xs))] }

// genPath returns a path over a tiny namespace, so that entries of
// different layers collide often.
func genPath(c chooser) string {
	parts := make([]string, 1+c.intN(3))
	for i := range parts {
		parts[i] = pick(c, "a", "b", "c")
	}
	return strings.Join(parts, "/")
}

func genOwner(c chooser, e ent) ent {
	if c.intN(4) == 0 {
		return e.withOwner(pick(c, 1, 1000), pick(c, 2, 1000))
	}
	return e
}

func genXattr(c chooser, e ent) ent {
	if c.intN(5) == 0 {
		return e.withXattr("user.k", pick(c, "1", "22"))
	}
	return e
}

// genEntry returns one random entry: every kind the doc has a clause for.
// Character devices 0/0 and trusted.overlay.* xattrs, which overlayfs
// reads as its own metadata, are left out (known limits of the oracle).
func genEntry(c chooser) ent {
	var e ent
	switch k := c.intN(20); {
	case k < 6:
		e = file(genPath(c), pick(c, "", "x", "hello", "hello world"))
		e = e.withMode(pick[int64](c, 0o644, 0o600, 0o755, 0o4755))
		e = genXattr(c, genOwner(c, e))
	case k < 9:
		e = dir(genPath(c)).withMode(pick[int64](c, 0o755, 0o700, 0o1777, 0o2750))
		e = genXattr(c, genOwner(c, e))
	case k < 10:
		e = symlink(genPath(c), pick(c, "a", "../b", "/etc", "a/b")).withMode(pick[int64](c, 0o777, 0o644))
		e = genOwner(c, e)
	case k < 13:
		e = hardlink(genPath(c), genPath(c))
	case k < 16:
		e = whiteout(genPath(c))
	case k < 18:
		if c.intN(8) == 0 {
			e = opaque("")
		} else {
			e = opaque(genPath(c))
		}
	case k < 19:
		e = genOwner(c, fifo(genPath(c)).withMode(pick[int64](c, 0o644, 0o600)))
	default:
		e = chardev(genPath(c), 1, int64(1+c.intN(3)))
	}
	e.mtime = pick[int64](c, 1000, 2000)
	return e
}

// genStack returns 1 to 4 layers of 1 to 8 entries.
func genStack(c chooser) [][]ent {
	layers := make([][]ent, 1+c.intN(4))
	for i := range layers {
		n := 1 + c.intN(8)
		for range n {
			layers[i] = append(layers[i], genEntry(c))
			if c.done() {
				break
			}
		}
	}
	return layers
}

// diffStack runs both backends on a stack and returns their differences.
func diffStack(t testing.TB, layers [][]ent) ([]overlay.Difference, error) {
	t.Helper()
	tars := tarsOf(t, layers)
	got, err := MergedView(context.Background(), openers(tars), t.TempDir())
	if err != nil {
		return nil, err
	}
	return overlay.Compare(modelView(t, tars), got, compareOpts), nil
}

// Hand-written stacks that combine the clauses in ways random stacks reach
// rarely.
var diffCases = map[string][][]ent{
	"whiteout of a marker directory": {
		{dir("a"), file("a/x", "x")},
		{opaque("a/b"), whiteout("a")},
	},
	"whiteout and marker of one directory": {
		{dir("a"), file("a/x", "x")},
		{whiteout("a"), opaque("a"), file("a/y", "y")},
	},
	"marker under a replaced file": {
		{file("a", "file")},
		{opaque("a/b"), file("a/b/c", "c")},
	},
	"link to a path whited out in the same layer": {
		{file("a", "old")},
		{whiteout("a"), hardlink("b", "a"), file("a", "new")},
	},
	"link to self after whiteout": {
		{file("a", "old")},
		{whiteout("a"), hardlink("a", "a")},
	},
	"link through a lower symlink": {
		{dir("d"), file("d/f", "f"), symlink("s", "d")},
		{hardlink("l", "s/f")},
	},
	"link to an implicit directory's lower file": {
		{file("a", "lower file")},
		{file("a/b", "b"), hardlink("l", "a")},
	},
	"link replacing its target's parent": {
		{dir("d"), file("d/f", "f")},
		{hardlink("d", "d/f")},
	},
	"whiteout deep under a lower file": {
		{file("a", "a")},
		{whiteout("a/b/c"), file("z", "z")},
	},
	"root marker with entries": {
		{dir("a").withMode(0o700), file("a/x", "x"), file("b", "b")},
		{opaque(""), file("a/y", "y"), whiteout("b")},
	},
	"directory over lower directory after same-layer file": {
		{dir("a"), file("a/x", "x")},
		{file("a", "f"), dir("a").withMode(0o711)},
		{file("a/y", "y")},
	},
	// docs/overlay-semantics.md step 1 runs the markers "whatever the
	// order of its entries": a marker below another marker of the same
	// layer makes a directory of this layer in both orders.
	"nested markers, ancestor first": {
		{dir("a"), dir("a/c"), file("a/c/x", "x"), file("a/y", "y")},
		{opaque("a"), opaque("a/c")},
	},
	"symlink mode": {
		{symlink("s", "x").withMode(0o644), symlink("t", "/etc").withMode(0o4755)},
	},
	"nested markers, child first": {
		{dir("a"), dir("a/c"), file("a/c/x", "x"), file("a/y", "y")},
		{opaque("a/c"), opaque("a")},
	},
	"nested markers, child first, nothing below": {
		{opaque("a/c"), opaque("a")},
	},
	"implicit parents across many layers": {
		{dir("a").withMode(0o700).withOwner(1, 2).withXattr("user.k", "v")},
		{file("a/b/c", "c")},
		{file("a/b/d", "d")},
		{whiteout("a/b"), file("a/b/e", "e")},
	},
}

// TestKernelVsModel is the differential test: the kernel's merged view
// and the model's must agree on every attribute but hard-link groups, for
// hand-written stacks and for seeded random ones (-kernel.seed,
// -kernel.stacks).
func TestKernelVsModel(t *testing.T) {
	needKernel(t)
	for name, layers := range diffCases {
		t.Run(name, func(t *testing.T) {
			diffs, err := diffStack(t, layers)
			if err != nil {
				t.Fatalf("kernel: %v\nstack:\n%s", err, formatStack(layers))
			}
			if len(diffs) > 0 {
				t.Errorf("model (want) and kernel (got) disagree:\n%s\nstack:\n%s", formatDiffs(diffs), formatStack(layers))
			}
		})
	}
	n := *diffStacks
	if testing.Short() {
		n = min(n, 50)
	}
	start, failures := time.Now(), 0
	for i := range n {
		seed := *diffSeed + uint64(i)
		layers := genStack(rngChooser{rand.New(rand.NewPCG(seed, 0))})
		diffs, err := diffStack(t, layers)
		if err == nil && len(diffs) == 0 {
			continue
		}
		failures++
		if err != nil {
			t.Errorf("seed %d: kernel: %v\nstack:\n%s", seed, err, formatStack(layers))
		} else {
			t.Errorf("seed %d: model (want) and kernel (got) disagree:\n%s\nstack:\n%s", seed, formatDiffs(diffs), formatStack(layers))
		}
		if failures >= 5 {
			t.Fatalf("stopping after %d failing stacks of %d", failures, i+1)
		}
	}
	t.Logf("compared %d random stacks (seeds %d..%d) in %v", n, *diffSeed, *diffSeed+uint64(n)-1, time.Since(start).Round(time.Millisecond))
}

// FuzzKernelVsModel runs both backends on small stacks decoded from the
// fuzzer's bytes (one decision per byte), so that every input is a valid
// stack and the fuzzer explores stacks rather than tar syntax.
func FuzzKernelVsModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{3, 7, 15, 0, 1, 13, 2, 2, 1, 17, 3, 0})
	f.Add(bytes.Repeat([]byte{9, 14, 1, 12}, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		needKernel(t)
		if len(data) > 256 {
			return // keep each input cheap: a few mounts at most
		}
		layers := genStack(&byteChooser{b: data})
		diffs, err := diffStack(t, layers)
		if err != nil {
			t.Fatalf("kernel: %v\nstack:\n%s", err, formatStack(layers))
		}
		if len(diffs) > 0 {
			t.Fatalf("model (want) and kernel (got) disagree:\n%s\nstack:\n%s", formatDiffs(diffs), formatStack(layers))
		}
	})
}

// The tar type of a whiteout does not matter: a directory named .wh.x is
// still a whiteout.
func TestWhiteoutAsDirectory(t *testing.T) {
	needKernel(t)
	wo := whiteout("a")
	wo.typ = tar.TypeDir
	v := checkAgainstModel(t, []ent{file("a", "a")}, []ent{wo})
	wantAbsent(t, v, "a", ".wh.a")
}
