package kernel

import (
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/overlay"
)

// Each test names the clause of docs/overlay-semantics.md it covers and
// checks the kernel's view both against explicit expectations and against
// the model.

func wantFile(t *testing.T, v map[string]overlay.File, p string, typ overlay.Type) overlay.File {
	t.Helper()
	f, ok := v[p]
	if !ok {
		t.Fatalf("%s missing from the view", p)
	}
	if f.Type != typ {
		t.Fatalf("%s is a %v, want %v", p, f.Type, typ)
	}
	return f
}

func wantAbsent(t *testing.T, v map[string]overlay.File, ps ...string) {
	t.Helper()
	for _, p := range ps {
		if _, ok := v[p]; ok {
			t.Errorf("%s should not be in the view", p)
		}
	}
}

func wantHash(t *testing.T, v map[string]overlay.File, p, body string) {
	t.Helper()
	f := wantFile(t, v, p, overlay.TypeRegular)
	if f.Size != int64(len(body)) {
		t.Errorf("%s has %d bytes, want %d (%q)", p, f.Size, len(body), body)
	}
}

// Image-spec: whiteout files only apply to lower layers; a file and its
// whiteout in one layer leave the file, whatever their order.
func TestSameLayerWhiteoutKeepsFile(t *testing.T) {
	needKernel(t)
	base := []ent{file("a", "old"), dir("d"), file("d/x", "x")}
	for name, l1 := range map[string][]ent{
		"whiteout first": {whiteout("a"), file("a", "new!"), whiteout("d"), dir("d"), file("d/y", "y")},
		"whiteout last":  {file("a", "new!"), dir("d"), file("d/y", "y"), whiteout("a"), whiteout("d")},
	} {
		t.Run(name, func(t *testing.T) {
			v := checkAgainstModel(t, base, l1)
			wantHash(t, v, "a", "new!")
			wantFile(t, v, "d/y", overlay.TypeRegular)
			wantAbsent(t, v, "d/x") // the whiteout removed the lower d
		})
	}
}

// Step 1: an opaque marker hides the lower children of its directory,
// before the entries of its layer whatever the tar order.
func TestOpaqueOrderIndependence(t *testing.T) {
	needKernel(t)
	base := []ent{dir("d").withMode(0o700).withOwner(3, 4), file("d/x", "x"), dir("d/sub"), file("d/sub/y", "y")}
	for name, l1 := range map[string][]ent{
		"marker first":  {opaque("d"), file("d/z", "z")},
		"marker last":   {file("d/z", "z"), opaque("d")},
		"marker middle": {file("d/z", "z"), opaque("d"), file("d/sub/w", "w")},
	} {
		t.Run(name, func(t *testing.T) {
			v := checkAgainstModel(t, base, l1)
			wantFile(t, v, "d/z", overlay.TypeRegular)
			wantAbsent(t, v, "d/x", "d/sub/y")
			d := wantFile(t, v, "d", overlay.TypeDir)
			if d.Mode != 0o700 || d.UID != 3 || d.GID != 4 {
				t.Errorf("d lost its lower attributes: %#o %d:%d", d.Mode, d.UID, d.GID)
			}
		})
	}
}

// Step 1: a marker in a directory that does not exist below, or exists
// as a non-directory, makes it a directory of the layer.
func TestOpaqueCreatesDirectory(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{file("f", "file"), dir("keep")}, []ent{opaque("f"), opaque("new/deep")})
	wantFile(t, v, "f", overlay.TypeDir)
	wantFile(t, v, "new/deep", overlay.TypeDir)
	wantFile(t, v, "keep", overlay.TypeDir)
}

// An opaque marker at the root hides every lower path.
func TestOpaqueRoot(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{file("a", "a"), dir("d"), file("d/x", "x")}, []ent{opaque(""), file("b", "b"), file("d/y", "y")})
	wantAbsent(t, v, "a", "d/x")
	wantFile(t, v, "b", overlay.TypeRegular)
	wantFile(t, v, "d/y", overlay.TypeRegular)
}

// Step 2: the whiteout of a directory removes its whole subtree; a later
// directory at the path starts empty.
func TestDirectoryWhiteout(t *testing.T) {
	needKernel(t)
	l0 := []ent{dir("d"), file("d/x", "x"), dir("d/e"), file("d/e/f", "f"), file("other", "o")}
	v := checkAgainstModel(t, l0, []ent{whiteout("d")})
	wantAbsent(t, v, "d", "d/x", "d/e", "d/e/f")
	wantFile(t, v, "other", overlay.TypeRegular)

	v = checkAgainstModel(t, l0, []ent{whiteout("d")}, []ent{dir("d"), file("d/new", "n")})
	if got := paths(filesUnder(v, "d")); !slices.Equal(got, []string{"d/new"}) {
		t.Errorf("d holds %v, want only d/new", got)
	}
	// A whiteout of a path that exists nowhere hides nothing and creates
	// no parent.
	v = checkAgainstModel(t, l0, []ent{whiteout("nope/deeper/x"), whiteout("d/nothing")})
	wantAbsent(t, v, "nope")
	wantFile(t, v, "d/x", overlay.TypeRegular)
}

func filesUnder(v map[string]overlay.File, d string) []overlay.File {
	var out []overlay.File
	for p, f := range v {
		if strings.HasPrefix(p, d+"/") {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b overlay.File) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// "A path whose type changed from directory to non-directory or back is a
// new object: nothing of the old one shows through."
func TestDirFileReplacement(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t,
		[]ent{dir("d"), file("d/x", "x")},
		[]ent{file("d", "now a file")},
		[]ent{dir("d"), file("d/y", "y")},
	)
	wantFile(t, v, "d/y", overlay.TypeRegular)
	wantAbsent(t, v, "d/x")

	// Within one layer: file, then directory again.
	v = checkAgainstModel(t,
		[]ent{dir("d"), file("d/x", "x")},
		[]ent{file("d", "f"), dir("d"), file("d/y", "y")},
	)
	wantAbsent(t, v, "d/x")
	wantFile(t, v, "d/y", overlay.TypeRegular)

	// A directory over a file, then a file over the directory.
	v = checkAgainstModel(t, []ent{file("p", "p")}, []ent{dir("p"), file("p/q", "q")}, []ent{file("p", "again")})
	wantHash(t, v, "p", "again")
	wantAbsent(t, v, "p/q")
}

// Implicit parents: an existing lower directory is kept with its
// attributes; a missing one gets 0755 root:root; one that this layer's
// whiteout or marker removed gets the defaults too.
func TestImplicitParents(t *testing.T) {
	needKernel(t)
	l0 := []ent{
		dir("d").withMode(0o750).withOwner(5, 6).withXattr("user.note", "lower"),
		file("d/old", "o"),
		dir("d/e").withMode(0o711).withOwner(7, 7),
	}
	v := checkAgainstModel(t, l0, []ent{file("d/e/new", "n"), file("fresh/a/b", "b")})
	d := wantFile(t, v, "d", overlay.TypeDir)
	if d.Mode != 0o750 || d.UID != 5 || d.GID != 6 || d.Xattrs["user.note"] != "lower" {
		t.Errorf("implicit parent d = %#o %d:%d %v, want the lower attributes", d.Mode, d.UID, d.GID, d.Xattrs)
	}
	if e := wantFile(t, v, "d/e", overlay.TypeDir); e.Mode != 0o711 || e.UID != 7 {
		t.Errorf("implicit parent d/e = %#o %d, want 0711 7", e.Mode, e.UID)
	}
	wantFile(t, v, "d/old", overlay.TypeRegular)
	if f := wantFile(t, v, "fresh/a", overlay.TypeDir); f.Mode != 0o755 || f.UID != 0 || f.Xattrs != nil {
		t.Errorf("new implicit parent = %#o %d %v, want 0755 0 none", f.Mode, f.UID, f.Xattrs)
	}

	// The whiteout comes after the entry in the tar but acts first.
	for _, l1 := range [][]ent{
		{file("d/e/new", "n"), whiteout("d")},
		{file("d/e/new", "n"), opaque("")},
	} {
		v = checkAgainstModel(t, l0, l1)
		d = wantFile(t, v, "d", overlay.TypeDir)
		if d.Mode != 0o755 || d.UID != 0 || d.Xattrs != nil {
			t.Errorf("%v: re-created parent d = %#o %d %v, want defaults", l1, d.Mode, d.UID, d.Xattrs)
		}
		wantAbsent(t, v, "d/old")
	}

	// A marker on an ancestor removes the lower d/e: defaults again.
	v = checkAgainstModel(t, l0, []ent{opaque("d"), file("d/e/new", "n")})
	if e := wantFile(t, v, "d/e", overlay.TypeDir); e.Mode != 0o755 || e.UID != 0 {
		t.Errorf("d/e under an opaque d = %#o %d, want defaults", e.Mode, e.UID)
	}
	if d := wantFile(t, v, "d", overlay.TypeDir); d.Mode != 0o750 {
		t.Errorf("opaque d = %#o, want its lower 0750", d.Mode)
	}
}

// A directory entry over a directory replaces its attributes, xattrs
// included, and keeps its children.
func TestDirectoryMerge(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t,
		[]ent{dir("d").withXattr("user.a", "1"), file("d/x", "x")},
		[]ent{dir("d").withMode(0o700).withXattr("user.b", "2"), file("d/y", "y")},
	)
	d := wantFile(t, v, "d", overlay.TypeDir)
	if d.Mode != 0o700 || d.Xattrs["user.a"] != "" || d.Xattrs["user.b"] != "2" {
		t.Errorf("merged d = %#o %v", d.Mode, d.Xattrs)
	}
	wantFile(t, v, "d/x", overlay.TypeRegular)
	wantFile(t, v, "d/y", overlay.TypeRegular)
}

// A second entry for a path in one layer replaces the first.
func TestDuplicates(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{
		file("a", "first"), file("a", "second!"),
		dir("d"), file("d/x", "x"), file("d", "file now"),
		file("e", "e"), dir("e"), file("e/y", "y"),
		dir("m").withMode(0o700), dir("m").withMode(0o751),
	})
	wantHash(t, v, "a", "second!")
	wantHash(t, v, "d", "file now")
	wantAbsent(t, v, "d/x")
	wantFile(t, v, "e/y", overlay.TypeRegular)
	if m := wantFile(t, v, "m", overlay.TypeDir); m.Mode != 0o751 {
		t.Errorf("m = %#o, want the last entry's 0751", m.Mode)
	}
}

// Hard links, rule 1: a target written by this layer is linked; a later
// entry at the target does not change the link.
func TestHardlinkInLayer(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{
		file("a", "version 1").withMode(0o600).withOwner(9, 9),
		hardlink("b", "a"),
		file("a", "version 2!"),
		dir("t"), file("t/x", "in t"), hardlink("t", "t/x"), // the link replaces its target's parent
		symlink("s", "/etc/passwd"), hardlink("s2", "s"),
		hardlink("self", "self"),
	})
	if b := wantFile(t, v, "b", overlay.TypeRegular); b.Size != int64(len("version 1")) || b.Mode != 0o600 || b.UID != 9 {
		t.Errorf("b = %+v, want the first a", b)
	}
	wantHash(t, v, "a", "version 2!")
	wantHash(t, v, "t", "in t")
	if s := wantFile(t, v, "s2", overlay.TypeSymlink); s.Linkname != "/etc/passwd" {
		t.Errorf("s2 -> %q", s.Linkname)
	}
	wantAbsent(t, v, "self")
}

// Hard links, rule 2: a target from the lower layers is copied, as it was
// before this layer's markers and whiteouts; missing targets, directories,
// and targets under a non-directory of this layer are skipped.
func TestHardlinkToLower(t *testing.T) {
	needKernel(t)
	l0 := []ent{
		file("a", "lower a").withMode(0o640).withOwner(3, 4).withXattr("user.x", "y"),
		dir("d"), file("d/f", "lower f"), symlink("s", "a"), fifo("p"),
	}
	v := checkAgainstModel(t, l0, []ent{
		hardlink("b", "a"),
		whiteout("a"), // acts first, but the link takes a as it was before
		hardlink("c", "d/f"), opaque("d"),
		hardlink("s2", "s"), hardlink("p2", "p"),
		hardlink("gone", "missing"), hardlink("dirlink", "d"),
		file("q", "file"), hardlink("under", "q/x"),
	})
	b := wantFile(t, v, "b", overlay.TypeRegular)
	if b.Size != int64(len("lower a")) || b.Mode != 0o640 || b.UID != 3 || b.GID != 4 || b.Xattrs["user.x"] != "y" {
		t.Errorf("b = %+v, want a copy of the lower a", b)
	}
	wantAbsent(t, v, "a", "d/f", "gone", "dirlink", "under")
	wantHash(t, v, "c", "lower f")
	wantFile(t, v, "s2", overlay.TypeSymlink)
	wantFile(t, v, "p2", overlay.TypeFIFO)
}

// Symlinks are never followed: a symlink in the way of an entry is
// replaced by an implicit directory, in the same layer or from below.
func TestSymlinksNeverFollowed(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t,
		[]ent{dir("real"), file("real/keep", "k"), symlink("lnk", "real"), symlink("abs", "/real")},
		[]ent{file("lnk/x", "x"), file("abs/y", "y"), symlink("same", "real"), file("same/z", "z")},
	)
	for _, p := range []string{"lnk", "abs", "same"} {
		wantFile(t, v, p, overlay.TypeDir)
	}
	wantAbsent(t, v, "real/x", "real/y", "real/z")
	wantFile(t, v, "real/keep", overlay.TypeRegular)
}

// Devices, FIFOs, modes with setuid bits, owners and xattrs come through.
func TestAttributes(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{
		file("suid", "s").withMode(0o4755).withOwner(0, 0),
		file("sgid", "g").withMode(0o2711).withOwner(1000, 1001),
		file("x", "x").withXattr("user.one", "1").withXattr("user.two", "2"),
		dir("sticky").withMode(0o1777),
		chardev("null", 1, 3), fifo("pipe"),
		{name: "blk", typ: 'b', mode: 0o660, major: 8, minor: 1},
	})
	if f := wantFile(t, v, "null", overlay.TypeCharDevice); f.Devmajor != 1 || f.Devminor != 3 {
		t.Errorf("null = %d:%d", f.Devmajor, f.Devminor)
	}
	if f := wantFile(t, v, "sgid", overlay.TypeRegular); f.Mode != 0o2711 || f.UID != 1000 || f.GID != 1001 {
		t.Errorf("sgid = %#o %d:%d", f.Mode, f.UID, f.GID)
	}
}

// AUFS metadata, bare ".wh." names and the root entry change nothing.
func TestIgnoredEntries(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t,
		[]ent{file("a", "a")},
		[]ent{dir("./"), file(".wh..wh.plnk", ""), file("d/.wh.", ""), file(".wh..wh.aufs", ""), file("b", "b")},
	)
	wantFile(t, v, "a", overlay.TypeRegular)
	wantAbsent(t, v, ".wh..wh.plnk", ".wh..wh.aufs")
}

// Names are cleaned: "./a//b/" is a/b.
func TestNames(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{file("./a//b", "b"), file("/abs/c", "c"), file("x/./y/../z", "z")})
	wantFile(t, v, "a/b", overlay.TypeRegular)
	wantFile(t, v, "abs/c", overlay.TypeRegular)
	wantFile(t, v, "x/z", overlay.TypeRegular)
}
