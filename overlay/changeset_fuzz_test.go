package overlay

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzReadChangeset feeds arbitrary bytes to the tar and whiteout reader.
// It must return a changeset or an error wrapping one of its sentinels,
// never panic, and what it returns must be normalised: every path clean
// and inside the root, hard-link targets too, kinds known, sizes within
// the caps.
func FuzzReadChangeset(f *testing.F) {
	seeds := [][]ent{
		{file("a/b", "x"), hardlink("c", "a/b"), symlink("s", "/etc"), dir("d")},
		{whiteout("a"), opaque("d"), file("d/e", "y"), file(".wh..wh.plnk/1", "z"), file("x/.wh.", "")},
		{file("../x", "")},
		{hardlink("l", "../../etc/shadow")},
		{dir("."), file("/abs/path", "1"), file("a//b/./c", "2"), file(".wh..wh..opq", "")},
		{{hdr: tar.Header{Name: "p", Typeflag: tar.TypeReg, PAXRecords: map[string]string{"SCHILY.xattr.user.a": "v", "path": "long/" + strings.Repeat("n", 300)}}}},
		{{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, {hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}},
	}
	for _, s := range seeds {
		f.Add(layerTar(f, s...))
	}
	f.Add(globalHeaderTar(f))
	f.Add(layerTar(f, file("a", "hello"))[:600]) // truncated mid-entry
	f.Add([]byte("not a tar at all"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxEntries, maxBytes = 1000, 1 << 20
		cs, err := ReadChangeset(bytes.NewReader(data), ReadOptions{MaxEntries: maxEntries, MaxContentBytes: maxBytes})
		if err != nil {
			for _, s := range []error{ErrBadTar, ErrUnsafePath, ErrTooManyEntries, ErrTooLarge} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", err)
		}
		if cs.Len() > maxEntries || cs.ContentBytes > maxBytes || cs.ContentBytes < 0 {
			t.Fatalf("caps not held: %d entries, %d bytes", cs.Len(), cs.ContentBytes)
		}
		var sum int64
		for _, e := range cs.All() {
			checkClean(t, e.Path, e.Kind == EntryOpaque)
			if e.Kind == EntryHardlink {
				checkClean(t, e.Linkname, true)
			}
			switch e.Kind {
			case EntryFile:
				sum += e.Size
			case EntryDir, EntrySymlink, EntryHardlink, EntryCharDevice, EntryBlockDevice, EntryFIFO, EntryWhiteout, EntryOpaque:
				if e.Size != 0 {
					t.Fatalf("%s %q has size %d", e.Kind, e.Path, e.Size)
				}
			default:
				t.Fatalf("entry %q of unknown kind %v", e.Path, e.Kind)
			}
		}
		if sum != cs.ContentBytes {
			t.Fatalf("entry sizes add to %d, ContentBytes %d", sum, cs.ContentBytes)
		}
		// Whatever was read must apply without panicking.
		m := NewModel()
		m.Apply(cs)
		checkInvariants(t, m, cs.ContentBytes)
	})
}

// checkClean fails unless p is a cleaned path inside the root; "" (the
// root) is allowed only where the root is a valid subject.
func checkClean(t *testing.T, p string, rootOK bool) {
	t.Helper()
	if p == "" {
		if !rootOK {
			t.Fatalf("entry for the root itself")
		}
		return
	}
	if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		t.Fatalf("path %q not clean", p)
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == "." || c == ".." {
			t.Fatalf("path %q has a %q component", p, c)
		}
	}
}

// globalHeaderTar is a PAX global header followed by one file; layerTar
// cannot write it (it sets a ModTime, which a global header may not have).
func globalHeaderTar(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g", PAXRecords: map[string]string{"comment": "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Size: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
