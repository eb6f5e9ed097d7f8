package squash

import (
	"testing"

	"github.com/layerlint/layerlint/overlay"
)

// TestDuplicateEntry: the duplicate-path check that replaced ggcr's
// validate.Layer decode of each written layer.
func TestDuplicateEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []overlay.Entry
		dup     string
	}{
		{name: "distinct", entries: []overlay.Entry{{Path: "a", Kind: overlay.EntryFile}, {Path: "b", Kind: overlay.EntryDir}}},
		{name: "file twice", entries: []overlay.Entry{{Path: "a", Kind: overlay.EntryFile}, {Path: "a", Kind: overlay.EntryFile}}, dup: "a"},
		{name: "dir then symlink", entries: []overlay.Entry{{Path: "d", Kind: overlay.EntryDir}, {Path: "d", Kind: overlay.EntrySymlink}}, dup: "d"},
		{name: "whiteout twice", entries: []overlay.Entry{{Path: "w", Kind: overlay.EntryWhiteout}, {Path: "w", Kind: overlay.EntryWhiteout}}, dup: "w"},
		{name: "opaque dir and its marker", entries: []overlay.Entry{{Path: "d", Kind: overlay.EntryDir}, {Path: "d", Kind: overlay.EntryOpaque}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := duplicateEntry(overlay.NewChangeset(tt.entries...))
			if ok != (tt.dup != "") || p != tt.dup {
				t.Fatalf("duplicateEntry = %q, %v; want %q", p, ok, tt.dup)
			}
		})
	}
}
