// Package overlay models how a container runtime stacks the layers of an
// image: it replays OCI layer changesets (image-spec layer.md) into a merged
// view and records every regular-file version that the merged view hides.
//
// The model is pure Go: it needs no privileges and writes nothing to disk.
// Its memory grows with the number of paths, not with their bytes: file
// content is hashed while the tar streams and then forgotten.
package overlay

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Type is the kind of filesystem object at a path of the merged view.
type Type uint8

// Types of filesystem objects. The zero value is invalid so that a File that
// was never filled in is noticed.
const (
	TypeRegular Type = iota + 1
	TypeDir
	TypeSymlink
	TypeCharDevice
	TypeBlockDevice
	TypeFIFO
)

func (t Type) String() string {
	switch t {
	case TypeRegular:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeCharDevice:
		return "char"
	case TypeBlockDevice:
		return "block"
	case TypeFIFO:
		return "fifo"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Hash is the SHA-256 of a regular file's content; the zero value for
// everything else. Every claim that two contents are the same (a duplicate,
// a metadata-only copy) and every equality that fix verifies rests on it:
// a fast non-cryptographic hash would let an image forge those claims.
type Hash [sha256.Size]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// File is one path of a merged view, as the container sees it.
type File struct {
	// Path is cleaned, slash-separated, relative to the root, with no
	// leading "/" or "./". The root itself is never listed.
	Path string
	Type Type
	// Mode holds the permission bits plus setuid, setgid and sticky
	// (mask 0o7777), as in a tar header.
	Mode uint32
	UID  int
	GID  int
	// Size is the byte size of a regular file, zero for everything else.
	Size int64
	// Hash is the content hash of a regular file.
	Hash Hash
	// Linkname is the target of a symlink, never followed.
	Linkname string
	// Devmajor and Devminor are set for character and block devices.
	Devmajor, Devminor uint32
	// ModTime is the modification time in Unix seconds.
	ModTime int64
	// Xattrs are the extended attributes from the tar PAX records; nil
	// when there are none.
	Xattrs map[string]string
	// Layer is the index (from 0, bottom) of the layer that provides this
	// path. An implicit parent directory is provided by the layer that
	// created it.
	Layer int
	// Link identifies the hard-link group: files of the merged view with
	// the same non-zero Link share one inode. Zero for files that are not
	// hard-linked.
	Link uint64
	// Origin names the tar entry that wrote a regular file's bytes (zero
	// for other types). Each version has its own, so the files of the
	// view with one Origin are the names of one version, and a writer can
	// fetch the bytes from exactly that entry.
	Origin Origin
}

// Origin is the tar entry a version of a regular file comes from.
type Origin struct {
	// Layer is the index (from 0, bottom) of the layer whose tar holds
	// the entry; Entry is its position in that tar (Entry.Index).
	Layer, Entry int
}

// Compare orders origins by layer, then by position in the layer's tar:
// the order in which a reader of the layers, bottom first, meets them.
func (o Origin) Compare(p Origin) int {
	if c := cmp.Compare(o.Layer, p.Layer); c != 0 {
		return c
	}
	return cmp.Compare(o.Entry, p.Entry)
}

// Cause says why a regular-file version is hidden from the merged view.
type Cause uint8

// Causes of waste.
const (
	// CauseOverwritten: a later entry at the same path replaced it.
	CauseOverwritten Cause = iota + 1
	// CauseDeleted: a whiteout of the path or of an ancestor removed it.
	CauseDeleted
	// CauseOpaque: an opaque marker on an ancestor hid it.
	CauseOpaque
	// CauseReplaced: an ancestor became a non-directory.
	CauseReplaced
)

func (c Cause) String() string {
	switch c {
	case CauseOverwritten:
		return "overwritten"
	case CauseDeleted:
		return "deleted"
	case CauseOpaque:
		return "opaque"
	case CauseReplaced:
		return "replaced"
	}
	return "cause(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText makes causes read as words in JSON.
func (c Cause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Waste is a regular-file version that a layer shipped and that no path of
// the merged view shows.
type Waste struct {
	// Path is where the layer wrote the bytes.
	Path string
	// Layer shipped the bytes.
	Layer int
	Size  int64
	Hash  Hash
	Cause Cause
	// HiddenBy is the layer whose entry, whiteout or opaque marker hid the
	// last visible name of this version. It equals Layer for a duplicate
	// entry inside one layer.
	HiddenBy int
	// SameContent is set when the version was overwritten by a regular file
	// with the same bytes: a chmod, chown or touch that copied the file.
	SameContent bool
	// By is the path whose change hid the version: the whiteout target,
	// the opaque directory, the replaced ancestor, or Path itself.
	By string
}

// AnomalyKind classifies something odd in a layer that is not an error.
type AnomalyKind uint8

// Kinds of anomaly.
const (
	// AnomalyWhiteoutHidesNothing: a whiteout whose target does not exist
	// in the lower layers.
	AnomalyWhiteoutHidesNothing AnomalyKind = iota + 1
	// AnomalyOpaqueHidesNothing: an opaque marker in a directory that had
	// no lower content.
	AnomalyOpaqueHidesNothing
	// AnomalyAUFSMetadata: a .wh..wh.* entry other than the opaque marker
	// (AUFS leftovers such as .wh..wh.plnk), ignored.
	AnomalyAUFSMetadata
	// AnomalyBadWhiteout: a whiteout with an empty name, or of the root.
	AnomalyBadWhiteout
	// AnomalyHardlinkTarget: a hard link whose target is missing, is a
	// directory, or is not yet written; the link is skipped.
	AnomalyHardlinkTarget
	// AnomalyIgnoredEntry: an entry type that a runtime does not extract
	// (for example a PAX global header or a socket).
	AnomalyIgnoredEntry
	// AnomalyRootEntry: an entry for the root directory itself that is not
	// a directory (a directory entry there is normal and not reported);
	// the root's attributes are not part of the merged view.
	AnomalyRootEntry
)

func (k AnomalyKind) String() string {
	switch k {
	case AnomalyWhiteoutHidesNothing:
		return "whiteout-hides-nothing"
	case AnomalyOpaqueHidesNothing:
		return "opaque-hides-nothing"
	case AnomalyAUFSMetadata:
		return "aufs-metadata"
	case AnomalyBadWhiteout:
		return "bad-whiteout"
	case AnomalyHardlinkTarget:
		return "hardlink-target"
	case AnomalyIgnoredEntry:
		return "ignored-entry"
	case AnomalyRootEntry:
		return "root-entry"
	}
	return "anomaly(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText makes anomaly kinds read as words in JSON.
func (k AnomalyKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Anomaly is something odd found in a layer.
type Anomaly struct {
	Layer  int
	Path   string
	Kind   AnomalyKind
	Detail string
}
