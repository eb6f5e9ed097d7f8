package overlay

import (
	"fmt"
	"reflect"
	"testing"
)

// TestEntryRoundTrip: a changeset gives back every entry as it was
// appended, whichever of its attributes are stored out of line, across
// chunk boundaries.
func TestEntryRoundTrip(t *testing.T) {
	content := Hash{1, 2, 3}
	kinds := []Entry{
		{Kind: EntryFile, Mode: 0o644, UID: 1000, GID: 1000, Size: 12, Hash: content, ModTime: 1700000000},
		{Kind: EntryFile, Mode: 0o600, Hash: emptyHash},
		{Kind: EntryFile}, // no hash at all: not the empty file's
		{Kind: EntryFile, Size: 3, Hash: content, Xattrs: map[string]string{"security.capability": "x"}},
		{Kind: EntryDir, Mode: 0o1777, ModTime: -5, Xattrs: map[string]string{"user.a": "b"}},
		{Kind: EntrySymlink, Linkname: "../target"},
		{Kind: EntryHardlink, Linkname: "a/b"},
		{Kind: EntryCharDevice, Devmajor: 1, Devminor: 3},
		{Kind: EntryBlockDevice, Devmajor: 8},
		{Kind: EntryFIFO, UID: 1<<32 - 1},
		{Kind: EntryWhiteout},
		{Kind: EntryOpaque},
	}
	var want []Entry
	cs := &Changeset{}
	for i := range 3*chunkLen + 7 {
		e := kinds[i%len(kinds)]
		e.Path = fmt.Sprintf("d/p%d", i)
		e.Index = 2*i + 1
		if e.Kind == EntryFile && e.Size > 0 {
			e.Hash[31] = byte(i)
		}
		want = append(want, e)
		cs.Append(e)
	}
	if cs.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", cs.Len(), len(want))
	}
	for i, e := range cs.All() {
		if !reflect.DeepEqual(e, want[i]) {
			t.Fatalf("entry %d:\n got %+v\nwant %+v", i, e, want[i])
		}
	}
}

// TestEntryClamps: ids outside Linux's 32-bit range are clamped, as the
// model clamps them.
func TestEntryClamps(t *testing.T) {
	cs := NewChangeset(Entry{Path: "a", Kind: EntryDir, UID: -1, GID: 1 << 33})
	if e := cs.Entry(0); e.UID != 0 || e.GID != 1<<32-1 {
		t.Errorf("uid %d gid %d, want 0 and 2^32-1", e.UID, e.GID)
	}
}
