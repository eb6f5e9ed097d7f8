package htmlreport

import (
	"fmt"
	"testing"
)

// checkSums checks that every emitted directory's children add up to it:
// folding into "other" must not lose or invent bytes.
func checkSums(t *testing.T, nodes []Node) {
	t.Helper()
	size := make([]int64, len(nodes))
	wasted := make([]int64, len(nodes))
	has := make([]bool, len(nodes))
	for i, n := range nodes {
		if i == 0 {
			if n.Parent != -1 {
				t.Fatalf("root has parent %d", n.Parent)
			}
			continue
		}
		if n.Parent < 0 || n.Parent >= i {
			t.Fatalf("node %d (%s): parent %d does not come before it", i, n.Name, n.Parent)
		}
		size[n.Parent] += n.Size
		wasted[n.Parent] += n.Wasted
		has[n.Parent] = true
	}
	for i, n := range nodes {
		if has[i] && (size[i] != n.Size || wasted[i] != n.Wasted) {
			t.Errorf("node %d (%s): children hold %d shown and %d wasted bytes, the node %d and %d", i, n.Name, size[i], wasted[i], n.Size, n.Wasted)
		}
	}
}

// TestMillionPaths feeds a million files (1000 directories of 1000 files,
// plus waste) and checks that the page receives no more than the budget.
func TestMillionPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million paths")
	}
	b := newTreeBuilder()
	var total int64
	for d := range 1000 {
		dir := fmt.Sprintf("usr/share/d%03d/sub%d", d, d%7)
		for f := range 1000 {
			size := int64(f%97 + d)
			total += size
			b.addFile(dir+"/file"+itoa(f), size, d%5, 0)
		}
		b.addWaste(dir+"/old", int64(d))
	}
	for _, budget := range []int{1, 10, DefaultMaxNodes} {
		nodes := b.emit(budget)
		if len(nodes) > budget {
			t.Errorf("budget %d: %d nodes emitted", budget, len(nodes))
		}
		if nodes[0].Size != total || nodes[0].Files != 1_000_000 {
			t.Errorf("budget %d: root holds %d bytes in %d files, want %d in 1000000", budget, nodes[0].Size, nodes[0].Files, total)
		}
		checkSums(t, nodes)
	}
	if n := len(b.emit(DefaultMaxNodes)); n < DefaultMaxNodes/2 {
		t.Errorf("only %d of %d nodes used: the map shows less than it could", n, DefaultMaxNodes)
	}
}

func TestTreeSmall(t *testing.T) {
	t.Parallel()
	b := newTreeBuilder()
	b.addFile("etc/app.conf", 26, 1, 0)
	b.addFile("etc/os-release", 41, 0, 0)
	b.addFile("usr/bin/tool", 1200, 2, 7)
	b.addFile("app/tool-copy", 1200, 1, 7) // the same inode: counted once
	b.addWaste("etc/app.conf", 26)
	b.addWaste("tmp/build/main.o", 400)
	nodes := b.emit(100)
	checkSums(t, nodes)
	got := map[string]Node{}
	var path func(i int) string
	path = func(i int) string {
		if i == 0 {
			return ""
		}
		return path(nodes[i].Parent) + "/" + nodes[i].Name
	}
	for i, n := range nodes {
		got[path(i)] = n
	}
	for p, want := range map[string]Node{
		"":                     {Size: 1267, Wasted: 426, Files: 4, Layer: 2},
		"/etc":                 {Size: 67, Wasted: 26, Files: 2, Layer: 0},
		"/etc/hidden versions": {Wasted: 26, Layer: -1},
		"/tmp/build":           {Wasted: 400, Layer: -1},
		"/app/tool-copy":       {Size: 0, Files: 1, Layer: 1},
		"/usr/bin/tool":        {Size: 1200, Files: 1, Layer: 2},
	} {
		n, ok := got[p]
		if !ok {
			t.Errorf("%s: not emitted", p)
			continue
		}
		if n.Size != want.Size || n.Wasted != want.Wasted || n.Files != want.Files || n.Layer != want.Layer {
			t.Errorf("%s: got size %d wasted %d files %d layer %d, want %d %d %d %d", p, n.Size, n.Wasted, n.Files, n.Layer, want.Size, want.Wasted, want.Files, want.Layer)
		}
	}
}

// TestWideDirectoryFolds checks that one directory of many files shows at
// most maxChildren of them and folds the rest into one node.
func TestWideDirectoryFolds(t *testing.T) {
	t.Parallel()
	b := newTreeBuilder()
	for i := range 10_000 {
		b.addFile("var/cache/f"+itoa(i), int64(i+1), 0, 0)
	}
	nodes := b.emit(DefaultMaxNodes)
	checkSums(t, nodes)
	kids := map[int]int{}
	for _, n := range nodes[1:] {
		kids[n.Parent]++
	}
	for p, k := range kids {
		if k > maxChildren {
			t.Errorf("%s: %d children sent, want at most %d", nodes[p].Name, k, maxChildren)
		}
	}
	folded := 0
	for _, n := range nodes {
		if n.Kind == kindOther {
			folded += n.Files
		}
	}
	if folded != 10_000-keepFiles {
		t.Errorf("%d files folded, want %d", folded, 10_000-keepFiles)
	}
}

// BenchmarkTreeMillion aggregates a million files into the map's nodes.
// Compare with BenchmarkTreeTenThousand: the cost grows with the files,
// the output does not.
func BenchmarkTreeMillion(b *testing.B) { benchTree(b, 1000, 1000) }

// BenchmarkTreeTenThousand is the baseline of BenchmarkTreeMillion.
func BenchmarkTreeTenThousand(b *testing.B) { benchTree(b, 100, 100) }

func benchTree(b *testing.B, dirs, files int) {
	names := make([]string, files)
	for f := range names {
		names[f] = "/file" + itoa(f)
	}
	b.ReportAllocs()
	for b.Loop() {
		tb := newTreeBuilder()
		for d := range dirs {
			dir := "usr/share/d" + itoa(d)
			for f := range files {
				tb.addFile(dir+names[f], int64(f%97+d), d%5, 0)
			}
		}
		b.ReportMetric(float64(len(tb.emit(DefaultMaxNodes))), "nodes")
	}
}
