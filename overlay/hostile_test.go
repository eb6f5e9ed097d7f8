package overlay

// Hostile layers at the level of the tar reader and the model: what each
// odd entry becomes (docs/overlay-semantics.md "Names"), and that size,
// depth and width stay within bounded time and memory. The CLI-level
// counterparts are in cmd/layerlint/hostile_test.go.

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/layerlint/layerlint/internal/testsupport"
)

// TestHostileNames: names a hostile or sloppy tar writer produces.
func TestHostileNames(t *testing.T) {
	tests := []struct {
		name      string
		layers    [][]ent
		view      string
		anomalies string
		err       error
	}{
		{name: "dotdot", layers: [][]ent{{file("a/../../x", "1")}}, err: ErrUnsafePath},
		{name: "dotdot hard link", layers: [][]ent{{file("a", "1"), hardlink("b", "a/../../a")}}, err: ErrUnsafePath},
		{name: "absolute names are rooted", layers: [][]ent{{file("/etc/passwd", "1"), hardlink("/l", "/etc/passwd")}},
			view: lines("etc dir @0", "etc/passwd file 1 link1 @0", "l file 1 link1 @0")},
		{name: "symlinks are never followed", layers: [][]ent{{symlink("etc", "/tmp")}, {file("etc/passwd", "1")}},
			view: lines("etc dir @1", "etc/passwd file 1 @1")},
		{name: "hard link to a path outside the image", layers: [][]ent{{hardlink("l", "/nonexistent")}},
			anomalies: lines("0 hardlink-target l")},
		{name: "hard link to a later entry", layers: [][]ent{{hardlink("l", "f"), file("f", "1")}},
			view: lines("f file 1 @0"), anomalies: lines("0 hardlink-target l")},
		{name: "bare .wh.", layers: [][]ent{{file("a", "1")}, {file("a/.wh.", ""), file(".wh.", "")}},
			view: lines("a file 1 @0"), anomalies: lines("1 bad-whiteout a/.wh.", "1 bad-whiteout .wh.")},
		{name: "opaque marker as a directory", layers: [][]ent{{file("a/x", "1")}, {dir("a/.wh..wh..opq"), file("a/.wh..wh..opq/y", "2")}},
			view: lines("a dir @0"), anomalies: lines("1 aufs-metadata a/.wh..wh..opq/y")},
		{name: "whiteout of the root", layers: [][]ent{{file("a", "1")}, {file(".wh..", ""), file("x/.wh..", ""), file("x/.wh..", "")}},
			view: lines("a file 1 @0"), anomalies: lines("1 bad-whiteout .wh..", "1 bad-whiteout x/.wh..", "1 bad-whiteout x/.wh..")},
		{name: "opaque marker of the root", layers: [][]ent{{file("a", "1")}, {opaque(""), file("b", "2")}},
			view: lines("b file 1 @1")},
		{name: "invalid UTF-8 and control characters are kept as bytes", layers: [][]ent{{gnu(file("\xff\x1b[2J/x\x07", "1"))}},
			view: lines("\xff\x1b[2J dir @0", "\xff\x1b[2J/x\x07 file 1 @0")},
		{name: "devices, FIFOs, duplicates", layers: [][]ent{{
			{hdr: tar.Header{Name: "c", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
			{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo}},
			file("d", "1"), file("d", "22"), {hdr: tar.Header{Name: "d", Typeflag: tar.TypeBlock, Devmajor: 8}},
		}}, view: lines("c char 0000 @0", "d block 0000 @0", "p fifo 0000 @0")},
		{name: "unknown types are ignored", layers: [][]ent{{{hdr: tar.Header{Name: "q", Typeflag: 'Q', Size: 3}, body: "abc"}, file("a", "1")}},
			view: lines("a file 1 @0"), anomalies: lines("0 ignored-entry q")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewModel()
			for i, l := range tt.layers {
				cs, err := ReadChangeset(readerOf(t, l), ReadOptions{})
				if tt.err != nil {
					if !errors.Is(err, tt.err) {
						t.Fatalf("layer %d: got %v, want %v", i, err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				m.Apply(cs)
			}
			if tt.err != nil {
				t.Fatalf("no error, want %v", tt.err)
			}
			if got := view(m); got != tt.view {
				t.Errorf("view:\n%q\nwant:\n%q", got, tt.view)
			}
			if got := anomalyList(m); got != tt.anomalies {
				t.Errorf("anomalies:\n%s\nwant:\n%s", got, tt.anomalies)
			}
		})
	}
}

// gnu writes e in the GNU format, which takes names PAX refuses.
func gnu(e ent) ent {
	e.hdr.Format = tar.FormatGNU
	return e
}

// readerOf streams a test layer (layerTar holds it in memory: fine for a
// handful of entries).
func readerOf(t *testing.T, ents []ent) io.Reader {
	return strings.NewReader(string(layerTar(t, ents...)))
}

// streamTar writes a tar of n entries made by gen through a pipe, so that
// no test holds a big layer in memory.
func streamTar(n int, gen func(i int) *tar.Header) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for i := range n {
			if err := tw.WriteHeader(gen(i)); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

// heapAfter returns the live heap after a full collection.
func heapAfter() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestManyEntriesMemory: a layer of many empty files (the "million empty
// files" bomb, 100k here to keep CI fast) must work without a cap, in
// memory proportional to the entries. What the changeset and the model
// keep per path is counted (live heap after a full collection, and bytes
// allocated), never timed: the peak memory of analyze per path
// (docs/performance.md, .ci/bench-memory) rests on these figures, and a
// regression shows here first.
func TestManyEntriesMemory(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	// Budgets in bytes per entry (the layer is one path per entry plus
	// 1,000 directories), about 20% above what was measured on 100k
	// entries (20k with -short): the changeset 72 (73), 56 in line and a
	// 16-byte path; the view after consuming it 140 (160), a 64-byte node,
	// a 32-byte version, its slot in its directory's map and its name; the
	// two kept together 204 (224); reading allocates 481 (485), the tar
	// reader's headers most of it.
	const changesetBudget, viewBudget, bothBudget, readAllocBudget = 90, 190, 270, 580
	layer := func() io.Reader {
		return streamTar(n, func(i int) *tar.Header {
			return &tar.Header{Name: fmt.Sprintf("d%03d/f%07d", i%1000, i), Typeflag: tar.TypeReg, Mode: 0o644}
		})
	}
	perEntry := func(b uint64) uint64 { return b / uint64(n) }
	check := func(what string, got, budget uint64) {
		t.Logf("%s: %d bytes per entry", what, got)
		if got > budget {
			t.Errorf("%s: %d bytes per entry, more than %d", what, got, budget)
		}
	}

	// What writing the layer allocates is counted apart, and taken off
	// what reading it allocates.
	allocated := func(f func()) uint64 {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		f()
		runtime.ReadMemStats(&ms1)
		return ms1.TotalAlloc - ms0.TotalAlloc
	}
	writing := allocated(func() {
		if _, err := io.Copy(io.Discard, layer()); err != nil {
			t.Fatal(err)
		}
	})
	before := heapAfter()
	var cs *Changeset
	var err error
	reading := allocated(func() { cs, err = ReadChangeset(layer(), ReadOptions{}) })
	if err != nil {
		t.Fatal(err)
	}
	if cs.Len() != n {
		t.Fatalf("%d entries, want %d", cs.Len(), n)
	}
	check("changeset, live", perEntry(heapAfter()-before), changesetBudget)
	if !testsupport.RaceEnabled {
		check("reading, allocated", perEntry(reading-min(writing, reading)), readAllocBudget)
	}

	m := NewModel()
	m.Apply(cs)
	check("changeset and view, live", perEntry(heapAfter()-before), bothBudget)
	runtime.KeepAlive(cs)
	runtime.KeepAlive(m)

	before = heapAfter()
	cs, err = ReadChangeset(layer(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mc := NewModel()
	mc.Consume(cs)
	check("view of a consumed changeset, live", perEntry(heapAfter()-before), viewBudget)
	if files, _ := mc.VisibleBytes(); files != n {
		t.Fatalf("%d files in the view, want %d", files, n)
	}
	runtime.KeepAlive(mc)
}

// TestEntriesCapStopsEarly: with a cap, a layer of endless entries is
// refused after the cap, not read to its end.
func TestEntriesCapStopsEarly(t *testing.T) {
	var written atomic.Int64
	r := streamTar(10_000_000, func(i int) *tar.Header {
		written.Store(int64(i))
		return &tar.Header{Name: fmt.Sprintf("f%d", i), Typeflag: tar.TypeReg}
	})
	_, err := ReadChangeset(r, ReadOptions{MaxEntries: 1000})
	if !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("got %v, want ErrTooManyEntries", err)
	}
	if n := written.Load(); n > 2000 {
		t.Errorf("the writer produced %d entries before the reader stopped", n)
	}
	_ = r.(io.Closer).Close() // ends the writer
}

// TestDeepPath: a path ten thousand levels deep is read and applied in
// bounded time and memory, and walked without exhausting the stack; many
// such paths count against the entries cap by the directories they imply.
func TestDeepPath(t *testing.T) {
	apply := func(levels int) {
		deep := strings.Repeat("d/", levels) + "f"
		cs, err := ReadChangeset(readerOf(t, []ent{file(deep, "x"), hardlink("l", deep), whiteout("d/d/d")}), ReadOptions{MaxEntries: 2*levels + 10})
		if err != nil {
			t.Fatal(err)
		}
		m := NewModel()
		m.Apply(cs)
		cs2, err := ReadChangeset(readerOf(t, []ent{whiteout("d")}), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Apply(cs2)
		if files := m.Files(); len(files) != 1 || files[0].Path != "l" {
			t.Fatalf("view after whiting out d: %d paths", len(files))
		}
	}
	// Counted, not timed: twice the depth costs about twice the
	// allocations, not four times.
	checkLinear(t, "levels", 5_000, apply)
	deep := strings.Repeat("d/", 10_000) + "f"
	// 50 distinct deep paths imply 500k directories: over a 100k cap.
	_, err := ReadChangeset(streamTar(50, func(i int) *tar.Header {
		return &tar.Header{Name: fmt.Sprintf("%d/%s", i, deep), Typeflag: tar.TypeReg}
	}), ReadOptions{MaxEntries: 100_000})
	if !errors.Is(err, ErrTooManyEntries) || len(err.Error()) > 1000 {
		t.Errorf("deep paths: got %.300v (%d bytes), want a short ErrTooManyEntries", err, len(err.Error()))
	}
}

// TestWideDirectory: a directory with 100k children (the "million
// children" case, scaled for CI), then an opaque marker on it: time stays
// near linear (about 1 s, 5 s under -race).
func TestWideDirectory(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 10_000
	}
	checkLinear(t, "children", n, func(n int) {
		cs, err := ReadChangeset(streamTar(n, func(i int) *tar.Header {
			return &tar.Header{Name: fmt.Sprintf("wide/%d", i), Typeflag: tar.TypeReg}
		}), ReadOptions{MaxEntries: n + 1})
		if err != nil {
			t.Fatal(err)
		}
		m := NewModel()
		m.Apply(cs)
		if st := m.Apply(NewChangeset(Entry{Path: "wide", Kind: EntryOpaque}, Entry{Path: "wide/new", Kind: EntryFile})); st.Deleted != n {
			t.Errorf("opaque deleted %d, want %d", st.Deleted, n)
		}
		if got := len(m.Files()); got != 2 {
			t.Errorf("view has %d paths, want 2", got)
		}
	})
}

// checkLinear runs f at size n and 2n and fails unless the allocations
// (count and bytes) at most about double: the cost is counted, never
// timed, so a loaded machine cannot fail it, and a quadratic step shows
// as a ratio of four.
func checkLinear(t *testing.T, unit string, n int, f func(n int)) {
	t.Helper()
	measure := func(n int) (count, bytes uint64) {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		f(n)
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs, b.TotalAlloc - a.TotalAlloc
	}
	c1, b1 := measure(n)
	c2, b2 := measure(2 * n)
	t.Logf("%d %s: %d allocations, %d bytes; %d %s: %d allocations, %d bytes", n, unit, c1, b1, 2*n, unit, c2, b2)
	const most = 2.6 // 2 for linear cost, with room for fixed costs and the runtime
	if float64(c2) > most*float64(c1) || float64(b2) > most*float64(b1) {
		t.Errorf("doubling the %s multiplied allocations by %.2f and bytes by %.2f: not linear", unit, float64(c2)/float64(c1), float64(b2)/float64(b1))
	}
}

// TestSkippedDataCounts: data that tar.Reader must skip (a whiteout with
// content, an entry of unknown type) counts against the byte cap, so a
// bomb hidden there stops at the cap.
func TestSkippedDataCounts(t *testing.T) {
	big := strings.Repeat("x", 10_000)
	for name, e := range map[string]ent{
		"whiteout with data":   {hdr: tar.Header{Name: ".wh.a", Typeflag: tar.TypeReg, Size: int64(len(big))}, body: big},
		"unknown type":         {hdr: tar.Header{Name: "q", Typeflag: 'Q', Size: int64(len(big))}, body: big},
		"opaque with data":     {hdr: tar.Header{Name: "d/.wh..wh..opq", Typeflag: tar.TypeReg, Size: int64(len(big))}, body: big},
		"AUFS meta with data":  {hdr: tar.Header{Name: ".wh..wh.plnk/1", Typeflag: tar.TypeReg, Size: int64(len(big))}, body: big},
		"big xattr":            {hdr: tar.Header{Name: "x", Typeflag: tar.TypeReg, PAXRecords: map[string]string{"SCHILY.xattr.user.a": big}}},
		"long name, long link": {hdr: tar.Header{Name: big[:5000], Typeflag: tar.TypeSymlink, Linkname: big[:5001]}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadChangeset(readerOf(t, []ent{e}), ReadOptions{MaxContentBytes: 9000})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
			if _, err := ReadChangeset(readerOf(t, []ent{e}), ReadOptions{MaxContentBytes: 20000}); err != nil {
				t.Fatalf("within the cap: %v", err)
			}
		})
	}
}

// TestPathsCountsWalk: Paths counts what Walk visits, without spelling out
// a path.
func TestPathsCountsWalk(t *testing.T) {
	m := NewModel()
	for _, es := range [][]ent{
		{file("a/b/c", "x"), file("a/d", "y"), hardlink("e", "a/d"), file("f/g/h/i", "z")},
		{whiteout("a/b"), file("f/g/j", "w")},
	} {
		cs, err := ReadChangeset(readerOf(t, es), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Apply(cs)
		walked := 0
		_ = m.Walk("", func(*File) error { walked++; return nil })
		if got := m.Paths(); got != walked {
			t.Errorf("Paths() = %d, Walk visits %d", got, walked)
		}
	}
}

// TestFilesDeepLinear: listing a view of one deep path (Files, and so ls,
// the rules and fix) costs the bytes of its names, not the square of its
// depth: the paths of a chain share one string. Counted, not timed.
func TestFilesDeepLinear(t *testing.T) {
	cs := func(levels int) *Changeset {
		c, err := ReadChangeset(readerOf(t, []ent{file(strings.Repeat("d/", levels)+"f", "x"), file("a/b", "y")}), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	models := map[int]*Model{}
	for _, n := range []int{4000, 8000} {
		models[n] = NewModel()
		models[n].Apply(cs(n))
	}
	checkLinear(t, "levels", 4000, func(n int) {
		fs := models[n].Files()
		if len(fs) != n+3 || fs[len(fs)-1].Path != strings.Repeat("d/", n)+"f" || fs[0].Path != "a" || fs[1].Path != "a/b" {
			t.Fatalf("%d levels: %d paths, last %.20q", n, len(fs), fs[len(fs)-1].Path)
		}
	})
}
