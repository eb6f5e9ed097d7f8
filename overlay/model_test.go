package overlay

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ent is one tar entry of a test layer.
type ent struct {
	hdr  tar.Header
	body string
}

func file(name, body string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}
func fileMode(name, body string, mode int64) ent {
	e := file(name, body)
	e.hdr.Mode = mode
	return e
}
func dir(name string) ent {
	return ent{hdr: tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755}}
}
func dirMode(name string, mode int64, uid int) ent {
	e := dir(name)
	e.hdr.Mode, e.hdr.Uid = mode, uid
	return e
}
func symlink(name, target string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}
func hardlink(name, target string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}
func whiteout(name string) ent {
	d, b := path.Split(name)
	return ent{hdr: tar.Header{Name: d + WhiteoutPrefix + b, Typeflag: tar.TypeReg, Mode: 0o600}}
}
func opaque(dirName string) ent {
	return ent{hdr: tar.Header{Name: path.Join(dirName, OpaqueMarker), Typeflag: tar.TypeReg, Mode: 0o600}}
}

func layerTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing header %s: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("writing %s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stack applies the layers to a model, and checks on the way that a model
// that consumes the same changesets ends up the same.
func stack(t testing.TB, layers ...[]ent) *Model {
	t.Helper()
	m, mc := NewModel(), NewModel()
	var shipped int64
	for i, l := range layers {
		b := layerTar(t, l...)
		cs, err := ReadChangeset(bytes.NewReader(b), ReadOptions{})
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		shipped += cs.ContentBytes
		st := m.Apply(cs)
		cs, _ = ReadChangeset(bytes.NewReader(b), ReadOptions{})
		if stc := mc.Consume(cs); stc != st || cs.Len() != 0 {
			t.Fatalf("layer %d: Consume: stats %+v and %d entries left, Apply: %+v", i, stc, cs.Len(), st)
		}
	}
	sameModel(t, m, mc)
	checkInvariants(t, m, shipped)
	checkInvariants(t, mc, shipped)
	return m
}

// sameModel fails unless a and b show the same view, waste and anomalies.
func sameModel(t testing.TB, a, b *Model) {
	t.Helper()
	if !reflect.DeepEqual(a.Files(), b.Files()) || !reflect.DeepEqual(a.Waste(), b.Waste()) || !reflect.DeepEqual(a.Anomalies(), b.Anomalies()) {
		t.Fatalf("a model that consumed the changesets differs:\n%s\nwant\n%s", view(b), view(a))
	}
}

// view renders the merged view one path a line: "path type detail @layer".
func view(m *Model) string {
	var b strings.Builder
	for _, f := range m.Files() {
		fmt.Fprintf(&b, "%s %s", f.Path, f.Type)
		switch f.Type {
		case TypeRegular:
			fmt.Fprintf(&b, " %d", f.Size)
		case TypeSymlink:
			fmt.Fprintf(&b, " ->%s", f.Linkname)
		case TypeDir, TypeCharDevice, TypeBlockDevice, TypeFIFO:
		}
		if f.Mode != 0o644 && f.Mode != 0o755 && f.Mode != 0o777 {
			fmt.Fprintf(&b, " %04o", f.Mode)
		}
		if f.Link != 0 {
			fmt.Fprintf(&b, " link%d", f.Link)
		}
		fmt.Fprintf(&b, " @%d\n", f.Layer)
	}
	return b.String()
}

// wasteList renders waste records: "path@layer size cause by hiddenBy [same]".
func wasteList(m *Model) string {
	var b strings.Builder
	for _, w := range m.Waste() {
		fmt.Fprintf(&b, "%s@%d %d %s by %d", w.Path, w.Layer, w.Size, w.Cause, w.HiddenBy)
		if w.SameContent {
			b.WriteString(" same")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func anomalyList(m *Model) string {
	var b strings.Builder
	for _, a := range m.Anomalies() {
		fmt.Fprintf(&b, "%d %s %s\n", a.Layer, a.Kind, a.Path)
	}
	return b.String()
}

func lines(s ...string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

// TestLayerSpec covers the clauses of image-spec layer.md and the rules of
// docs/overlay-semantics.md, one case each.
func TestLayerSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		layers    [][]ent
		view      string
		waste     string
		anomalies string
	}{
		{
			name:   "implicit parent directories",
			layers: [][]ent{{file("a/b/c", "x")}},
			view:   lines("a dir @0", "a/b dir @0", "a/b/c file 1 @0"),
		},
		{
			name:   "dot slash prefixes and trailing slashes",
			layers: [][]ent{{dir("./a"), file("./a/b", "xy"), file("/c", "z"), {hdr: tar.Header{Name: "a//d/", Typeflag: tar.TypeDir, Mode: 0o700}}}},
			view:   lines("a dir @0", "a/b file 2 @0", "a/d dir 0700 @0", "c file 1 @0"),
		},
		{
			name:   "overwritten by a later layer",
			layers: [][]ent{{file("f", "old!")}, {file("f", "new")}},
			view:   lines("f file 3 @1"),
			waste:  lines("f@0 4 overwritten by 1"),
		},
		{
			name:   "metadata-only copy is same content",
			layers: [][]ent{{file("f", "data")}, {fileMode("f", "data", 0o755)}},
			view:   lines("f file 4 @1"),
			waste:  lines("f@0 4 overwritten by 1 same"),
		},
		{
			name:   "duplicate entries in one layer: the last wins",
			layers: [][]ent{{file("f", "first"), file("f", "second!")}},
			view:   lines("f file 7 @0"),
			waste:  lines("f@0 5 overwritten by 0"),
		},
		{
			name:   "whiteout of a file",
			layers: [][]ent{{file("a/f", "abc"), file("a/g", "x")}, {whiteout("a/f")}},
			view:   lines("a dir @0", "a/g file 1 @0"),
			waste:  lines("a/f@0 3 deleted by 1"),
		},
		{
			name:   "whiteout of a directory removes its whole subtree",
			layers: [][]ent{{file("d/x/1", "11"), file("d/x/2", "222"), file("d/y", "y")}, {whiteout("d/x")}},
			view:   lines("d dir @0", "d/y file 1 @0"),
			waste:  lines("d/x/1@0 2 deleted by 1", "d/x/2@0 3 deleted by 1"),
		},
		{
			name:   "whiteouts apply only to lower layers: file then whiteout",
			layers: [][]ent{{file("f", "lower")}, {file("f", "upper"), whiteout("f")}},
			view:   lines("f file 5 @1"),
			waste:  lines("f@0 5 deleted by 1"),
		},
		{
			name:   "whiteouts apply only to lower layers: whiteout then file",
			layers: [][]ent{{file("f", "lower")}, {whiteout("f"), file("f", "upper")}},
			view:   lines("f file 5 @1"),
			waste:  lines("f@0 5 deleted by 1"),
		},
		{
			name:      "whiteout in the same layer as the only file hides nothing",
			layers:    [][]ent{{file("f", "x"), whiteout("f")}},
			view:      lines("f file 1 @0"),
			anomalies: lines("0 whiteout-hides-nothing f"),
		},
		{
			name:   "whiteout of a directory that the same layer refills",
			layers: [][]ent{{dirMode("d", 0o700, 5), file("d/old", "o")}, {file("d/new", "n"), whiteout("d")}},
			view:   lines("d dir @1", "d/new file 1 @1"),
			waste:  lines("d/old@0 1 deleted by 1"),
		},
		{
			name:   "opaque marker before siblings",
			layers: [][]ent{{file("d/a", "a"), file("d/b", "bb")}, {opaque("d"), file("d/c", "c")}},
			view:   lines("d dir @0", "d/c file 1 @1"),
			waste:  lines("d/a@0 1 opaque by 1", "d/b@0 2 opaque by 1"),
		},
		{
			name:   "opaque marker after siblings is applied first",
			layers: [][]ent{{file("d/a", "a"), file("d/b", "bb")}, {file("d/c", "c"), file("d/a", "A"), opaque("d")}},
			view:   lines("d dir @0", "d/a file 1 @1", "d/c file 1 @1"),
			waste:  lines("d/a@0 1 opaque by 1", "d/b@0 2 opaque by 1"),
		},
		{
			name:      "nested opaque markers, child first in the tar",
			layers:    [][]ent{{file("a/c/x", "x"), file("a/y", "y")}, {opaque("a/c"), opaque("a")}},
			view:      lines("a dir @0", "a/c dir @1"),
			waste:     lines("a/c/x@0 1 opaque by 1", "a/y@0 1 opaque by 1"),
			anomalies: lines("1 opaque-hides-nothing a/c"),
		},
		{
			name:   "whiteout of a directory holding this layer's opaque marker",
			layers: [][]ent{{dirMode("d", 0o700, 3), file("d/s/x", "x"), file("d/z", "z")}, {opaque("d/s"), whiteout("d")}},
			waste:  lines("d/s/x@0 1 opaque by 1", "d/z@0 1 deleted by 1"),
		},
		{
			name:   "symlink mode is always 0777",
			layers: [][]ent{{{hdr: tar.Header{Name: "s", Typeflag: tar.TypeSymlink, Linkname: "x", Mode: 0o644}}}},
			view:   lines("s symlink ->x @0"),
		},
		{
			name:   "opaque marker keeps the directory's lower attributes",
			layers: [][]ent{{dirMode("d", 0o700, 7), file("d/a", "a")}, {opaque("d")}},
			view:   lines("d dir 0700 @0"),
			waste:  lines("d/a@0 1 opaque by 1"),
		},
		{
			name:      "opaque marker in a new directory",
			layers:    [][]ent{{file("x", "x")}, {opaque("n"), file("n/f", "f")}},
			view:      lines("n dir @1", "n/f file 1 @1", "x file 1 @0"),
			anomalies: lines("1 opaque-hides-nothing n"),
		},
		{
			name:   "directory replaced by a file",
			layers: [][]ent{{file("p/a", "aa"), file("p/b/c", "ccc")}, {file("p", "now a file")}},
			view:   lines("p file 10 @1"),
			waste:  lines("p/a@0 2 replaced by 1", "p/b/c@0 3 replaced by 1"),
		},
		{
			name:   "file replaced by a directory",
			layers: [][]ent{{file("p", "file")}, {dir("p"), file("p/x", "x")}},
			view:   lines("p dir @1", "p/x file 1 @1"),
			waste:  lines("p@0 4 overwritten by 1"),
		},
		{
			name:   "file replaced by an implicit directory",
			layers: [][]ent{{file("p", "file")}, {file("p/x", "x")}},
			view:   lines("p dir @1", "p/x file 1 @1"),
			waste:  lines("p@0 4 overwritten by 1"),
		},
		{
			name:   "directory to file and back",
			layers: [][]ent{{file("p/a", "a")}, {file("p", "pp")}, {file("p/b", "b")}},
			view:   lines("p dir @2", "p/b file 1 @2"),
			waste:  lines("p/a@0 1 replaced by 1", "p@1 2 overwritten by 2"),
		},
		{
			name:   "directories merge and take the upper attributes",
			layers: [][]ent{{dir("d"), file("d/a", "a")}, {dirMode("d", 0o700, 0), file("d/b", "b")}},
			view:   lines("d dir 0700 @1", "d/a file 1 @0", "d/b file 1 @1"),
		},
		{
			name:   "symlinks are never followed",
			layers: [][]ent{{dir("real"), symlink("s", "real")}, {file("s/x", "x")}},
			view:   lines("real dir @0", "s dir @1", "s/x file 1 @1"),
		},
		{
			name:      "whiteout through a symlink hides nothing",
			layers:    [][]ent{{file("real/f", "f"), symlink("s", "real")}, {whiteout("s/f")}},
			view:      lines("real dir @0", "real/f file 1 @0", "s symlink ->real @0"),
			anomalies: lines("1 whiteout-hides-nothing s/f"),
		},
		{
			name:   "hard link inside a layer counts bytes once",
			layers: [][]ent{{file("a", "12345"), hardlink("b", "a")}, {file("a", "new")}},
			view:   lines("a file 3 @1", "b file 5 @0"),
		},
		{
			name:   "hard link to a lower layer keeps the bytes visible",
			layers: [][]ent{{file("a", "12345")}, {hardlink("b", "a"), file("a", "x")}},
			view:   lines("a file 1 @1", "b file 5 @1"),
		},
		{
			name:   "hard link made before a whiteout of its target in the same layer",
			layers: [][]ent{{file("a", "12345")}, {hardlink("b", "a"), whiteout("a")}},
			view:   lines("b file 5 @1"),
		},
		{
			// The lower symlink's target is out of line in the model: the
			// link made after the whiteout still has it.
			name:   "hard link to a lower symlink whited out in the same layer",
			layers: [][]ent{{symlink("s", "t")}, {whiteout("s"), hardlink("h", "s")}},
			view:   lines("h symlink ->t @1"),
		},
		{
			name:   "hard-link group is one inode",
			layers: [][]ent{{file("a", "12345"), hardlink("b", "a"), hardlink("c", "b")}},
			view:   lines("a file 5 link1 @0", "b file 5 link1 @0", "c file 5 link1 @0"),
		},
		{
			name:   "hidden hard-link group is waste once",
			layers: [][]ent{{file("d/a", "12345"), hardlink("d/b", "d/a")}, {whiteout("d")}},
			waste:  lines("d/a@0 5 deleted by 1"),
		},
		{
			name:      "hard link to a missing target is skipped",
			layers:    [][]ent{{hardlink("b", "nope")}},
			anomalies: lines("0 hardlink-target b"),
		},
		{
			name:      "hard link to an entry later in the same layer is skipped",
			layers:    [][]ent{{hardlink("b", "a"), file("a", "x")}},
			view:      lines("a file 1 @0"),
			anomalies: lines("0 hardlink-target b"),
		},
		{
			name:   "hard link keeps the version it named when the name is replaced",
			layers: [][]ent{{file("a", "one"), hardlink("b", "a"), file("a", "two!")}},
			view:   lines("a file 4 @0", "b file 3 @0"),
		},
		{
			name: "PAX and GNU long names",
			layers: [][]ent{{
				file(strings.Repeat("p", 120)+"/"+strings.Repeat("q", 150), "long"),
				{hdr: tar.Header{Name: strings.Repeat("g", 130), Typeflag: tar.TypeSymlink, Linkname: strings.Repeat("t", 140), Format: tar.FormatGNU}},
			}},
			view: lines(
				strings.Repeat("g", 130)+" symlink ->"+strings.Repeat("t", 140)+" @0",
				strings.Repeat("p", 120)+" dir @0",
				strings.Repeat("p", 120)+"/"+strings.Repeat("q", 150)+" file 4 @0"),
		},
		{
			name:      "AUFS leftovers are ignored and reported",
			layers:    [][]ent{{file(".wh..wh.plnk/1.2", ""), dir(".wh..wh.aufs"), file("a", "a")}},
			view:      lines("a file 1 @0"),
			anomalies: lines("0 aufs-metadata .wh..wh.plnk/1.2", "0 aufs-metadata .wh..wh.aufs"),
		},
		{
			name:      "a whiteout that hides nothing is an anomaly",
			layers:    [][]ent{{file("a", "a")}, {whiteout("b")}},
			view:      lines("a file 1 @0"),
			anomalies: lines("1 whiteout-hides-nothing b"),
		},
		{
			name:   "opaque marker at the root",
			layers: [][]ent{{file("a", "a"), file("b/c", "c")}, {opaque(""), file("z", "z")}},
			view:   lines("z file 1 @1"),
			waste:  lines("a@0 1 opaque by 1", "b/c@0 1 opaque by 1"),
		},
		{
			name:   "root directory entry is normal and ignored",
			layers: [][]ent{{dir("."), file("a", "a")}},
			view:   lines("a file 1 @0"),
		},
		{
			name:      "root entry that is not a directory is ignored and reported",
			layers:    [][]ent{{file(".", "x"), file("a", "a")}},
			view:      lines("a file 1 @0"),
			anomalies: lines("0 root-entry "), // the root has no path of its own
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := stack(t, tt.layers...)
			if got := view(m); got != tt.view {
				t.Errorf("view:\n%s\nwant:\n%s", got, tt.view)
			}
			if got := wasteList(m); got != tt.waste {
				t.Errorf("waste:\n%s\nwant:\n%s", got, tt.waste)
			}
			if got := anomalyList(m); got != tt.anomalies {
				t.Errorf("anomalies:\n%s\nwant:\n%s", got, tt.anomalies)
			}
		})
	}
}

func TestUnsafePaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    ent
	}{
		{"dotdot", file("../etc/passwd", "x")},
		{"dotdot inside", file("a/../../x", "x")},
		{"hard link above root", hardlink("a", "../../etc/shadow")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadChangeset(bytes.NewReader(layerTar(t, tt.e)), ReadOptions{})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("got %v, want ErrUnsafePath", err)
			}
		})
	}
}

func TestCleanPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"./a/b/", "a/b", true},
		{"/a//b", "a/b", true},
		{"a/./b/../c", "a/c", true},
		{".", "", true},
		{"./", "", true},
		{"a..b", "a..b", true},
		{"../a", "", false},
		{"a/../../b", "", false},
	}
	for _, tt := range tests {
		got, ok := CleanPath(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CleanPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLayerStats(t *testing.T) {
	t.Parallel()
	m := NewModel()
	apply := func(ents ...ent) LayerStats {
		cs, err := ReadChangeset(bytes.NewReader(layerTar(t, ents...)), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return m.Apply(cs)
	}
	if got, want := apply(file("a/b", "12"), file("a/c", "3")), (LayerStats{Added: 3, ContentBytes: 3}); got != want {
		t.Errorf("layer 0: %+v, want %+v", got, want)
	}
	if got, want := apply(file("a/b", "x"), whiteout("a/c"), file("d", "")), (LayerStats{Added: 1, Modified: 1, Deleted: 1, ContentBytes: 1}); got != want {
		t.Errorf("layer 1: %+v, want %+v", got, want)
	}
	if got, want := apply(whiteout("a")), (LayerStats{Deleted: 2}); got != want {
		t.Errorf("layer 2: %+v, want %+v", got, want)
	}
}

func TestWalkPrefixAndLookup(t *testing.T) {
	t.Parallel()
	m := stack(t, []ent{file("a/x", "1"), file("a/y", "2"), file("b", "3")})
	var got []string
	if err := m.Walk("a", func(f *File) error { got = append(got, f.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,a/x,a/y" {
		t.Errorf("walk a: %v", got)
	}
	if f, ok := m.Lookup("a/y"); !ok || f.Size != 1 {
		t.Errorf("lookup a/y: %+v %v", f, ok)
	}
	if _, ok := m.Lookup("nope"); ok {
		t.Error("lookup nope found something")
	}
}

func TestReadCaps(t *testing.T) {
	t.Parallel()
	l := layerTar(t, file("a", "12345"), file("b", strings.Repeat("1", 1000)))
	if _, err := ReadChangeset(bytes.NewReader(l), ReadOptions{MaxEntries: 1}); !errors.Is(err, ErrTooManyEntries) {
		t.Errorf("entries cap: %v", err)
	}
	if _, err := ReadChangeset(bytes.NewReader(l), ReadOptions{MaxContentBytes: 4}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bytes cap: %v", err)
	}
	if _, err := ReadChangeset(bytes.NewReader(l[:1500]), ReadOptions{}); !errors.Is(err, ErrBadTar) {
		t.Errorf("truncated: %v", err)
	}
}
