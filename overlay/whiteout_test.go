package overlay

import "testing"

// TestClassifyName follows image-spec layer.md "Whiteouts": ".wh.<name>"
// deletes <name>, ".wh..wh..opq" makes its directory opaque, and other
// ".wh..wh." names are AUFS metadata.
func TestClassifyName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base string
		kind NameKind
		rest string
	}{
		{"file", NamePlain, "file"},
		{"wh.file", NamePlain, "wh.file"},
		{".wh.file", NameWhiteout, "file"},
		{".wh..hidden", NameWhiteout, ".hidden"},
		{".wh..wh..opq", NameOpaque, ".wh..opq"},
		{".wh..wh.plnk", NameAUFSMeta, ".wh.plnk"},
		{".wh..wh.aufs", NameAUFSMeta, ".wh.aufs"},
		{".wh.", NameBadWhiteout, ""},
		{".wh..", NameBadWhiteout, "."},
		{".wh...", NameBadWhiteout, ".."},
	}
	for _, tt := range tests {
		kind, rest := ClassifyName(tt.base)
		if kind != tt.kind || rest != tt.rest {
			t.Errorf("ClassifyName(%q) = %d, %q; want %d, %q", tt.base, kind, rest, tt.kind, tt.rest)
		}
	}
}
