package overlay

import "strings"

// NameKind is what the last component of a tar entry's path says about
// the entry, by the whiteout conventions of image-spec layer.md (and the
// AUFS ones it inherits). It is the one classifier of whiteout names: the
// changeset reader, the kernel unpacker and the dive emulation all use it.
type NameKind uint8

// Name kinds.
const (
	// NamePlain is an ordinary name.
	NamePlain NameKind = iota
	// NameWhiteout is ".wh.<name>": it deletes <name> in the same
	// directory.
	NameWhiteout
	// NameOpaque is ".wh..wh..opq": the directory hides what lower
	// layers put in it.
	NameOpaque
	// NameAUFSMeta is any other ".wh..wh.*": AUFS metadata (hard-link
	// directories, the AUFS marker), which runtimes ignore.
	NameAUFSMeta
	// NameBadWhiteout is ".wh." alone, or a whiteout of "." or "..":
	// it can delete nothing, and is ignored.
	NameBadWhiteout
)

// ClassifyName classifies base, the last component of a cleaned path.
// rest is base without the whiteout prefix (for NamePlain, base itself):
// for a NameWhiteout, the name it deletes.
func ClassifyName(base string) (kind NameKind, rest string) {
	rest, ok := strings.CutPrefix(base, WhiteoutPrefix)
	switch {
	case !ok:
		return NamePlain, base
	case base == OpaqueMarker:
		return NameOpaque, rest
	case strings.HasPrefix(base, WhiteoutMeta):
		return NameAUFSMeta, rest
	case rest == "", rest == ".", rest == "..":
		return NameBadWhiteout, rest
	}
	return NameWhiteout, rest
}
