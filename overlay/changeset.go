package overlay

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
)

// Whiteout names from image-spec layer.md.
const (
	WhiteoutPrefix = ".wh."
	WhiteoutMeta   = ".wh..wh."
	OpaqueMarker   = ".wh..wh..opq"
)

// EntryKind is what one tar entry of a changeset asks for.
type EntryKind uint8

// Kinds of changeset entries.
const (
	EntryFile EntryKind = iota + 1
	EntryDir
	EntrySymlink
	EntryHardlink
	EntryCharDevice
	EntryBlockDevice
	EntryFIFO
	// EntryWhiteout deletes Path from the lower layers.
	EntryWhiteout
	// EntryOpaque hides every lower child of the directory Path.
	EntryOpaque
)

func (k EntryKind) String() string {
	switch k {
	case EntryFile:
		return "file"
	case EntryDir:
		return "dir"
	case EntrySymlink:
		return "symlink"
	case EntryHardlink:
		return "hardlink"
	case EntryCharDevice:
		return "char"
	case EntryBlockDevice:
		return "block"
	case EntryFIFO:
		return "fifo"
	case EntryWhiteout:
		return "whiteout"
	case EntryOpaque:
		return "opaque"
	}
	return fmt.Sprintf("entrykind(%d)", uint8(k))
}

// Entry is one tar entry of a layer, normalised. Content is not kept: a
// regular file carries its size and hash only. It is the public form of an
// entry: a Changeset stores its entries compactly and returns them as
// Entry values (Changeset.Entry, Changeset.All).
type Entry struct {
	// Path is the cleaned path the entry acts on. For a whiteout it is the
	// path deleted (".wh." removed); for an opaque marker, the directory.
	Path string
	Kind EntryKind
	Mode uint32
	// UID and GID are in the 32-bit range Linux uses: a changeset clamps
	// what a header says (a negative id to 0), as the model does.
	UID int
	GID int
	// Size is the content size of a regular file.
	Size int64
	Hash Hash
	// Linkname is the symlink target as written, or the cleaned path of a
	// hard link's target.
	Linkname           string
	Devmajor, Devminor uint32
	ModTime            int64
	Xattrs             map[string]string
	// Index is the position of the entry's header in the layer's tar,
	// counting every header from 0: a second read of the same tar finds
	// the entry again by it (Origin.Entry). It is below 2^32.
	Index int
}

// Changeset is one layer read into memory as metadata: its entries in tar
// order (Len, Entry, All; Append adds one) and what was odd about them.
type Changeset struct {
	// Anomalies found while reading; their Layer field is set by Apply.
	Anomalies []Anomaly
	// ContentBytes is the sum of regular-file sizes: the bytes this layer
	// ships as file content.
	ContentBytes int64

	// The entries, stored compactly (see store.go): chunks of chunkLen
	// entries, the last one partly filled; n entries in all.
	chunks [][]entry
	n      int
	hashes hashTable
	extras []entryExtra
}

// Sentinel errors of changeset reading; callers test them with errors.Is.
var (
	// ErrUnsafePath: an entry whose name or hard-link target climbs
	// above the root.
	ErrUnsafePath = errors.New("path escapes the image root")
	// ErrTooManyEntries: a layer has more entries than ReadOptions allows.
	ErrTooManyEntries = errors.New("too many entries in layer")
	// ErrTooLarge: a layer's content is larger than ReadOptions allows.
	ErrTooLarge = errors.New("layer content too large")
	// ErrLongPath: an entry's path or hard-link target is longer or
	// deeper than ReadOptions allows.
	ErrLongPath = errors.New("path too long")
	// ErrBadTar: the stream is not a readable tar.
	ErrBadTar = errors.New("malformed tar")
)

// ReadOptions bounds and extends ReadChangeset. The zero value has no caps.
type ReadOptions struct {
	// MaxEntries caps the number of tar entries, and the number of paths
	// they may add to a view (an entry a/b/c after an entry x/y may add
	// three: a, a/b and a/b/c), which is what bounds the memory of the
	// model; 0 means no cap.
	MaxEntries int
	// MaxContentBytes caps the sum of regular-file sizes, counting also
	// the data of entries that carry data but are not files (whiteouts,
	// unknown types: a reader must still skip it) and the bytes of the
	// names, link names and PAX records kept or parsed; 0 means no cap.
	MaxContentBytes int64
	// MaxPathBytes and MaxPathDepth cap the length in bytes and the number
	// of components of every cleaned path and hard-link target: each
	// component is a directory the view holds, and every listing of the
	// view spells the path out; 0 means no cap.
	MaxPathBytes int
	MaxPathDepth int
	// Inspect, when set, is called for every regular file with its entry
	// (cleaned path and Index set, content not yet read) and header; the
	// bytes of the file are also written to the writer it returns (nil for
	// none). It lets callers scan or copy content in the same single pass.
	// The entry is valid only during the call.
	Inspect func(e *Entry, hdr *tar.Header) io.Writer
}

// CleanPath normalises a tar name the way the merged view names paths:
// slash-separated, no leading "/" or "./", no trailing slash, "" for the
// root. It reports false when the name climbs above the root.
func CleanPath(name string) (string, bool) {
	p := path.Clean("/" + name)
	// path.Clean of a rooted path never climbs above "/", so check the
	// original components for "..": a runtime that meets "../x" either
	// refuses it or writes outside the root, and both are wrong.
	if strings.Contains(name, "..") && climbs(name) {
		return "", false
	}
	return strings.TrimPrefix(p, "/"), true
}

// climbs reports whether the slash-separated name ever goes above its start.
func climbs(name string) bool {
	depth := 0
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// ReadChangeset reads one uncompressed layer tar. It stops at the tar's end
// marker; a caller that checks a digest of the stream must drain the rest.
func ReadChangeset(r io.Reader, opts ReadOptions) (*Changeset, error) {
	tr := tar.NewReader(r)
	cs := &Changeset{}
	h := sha256.New()
	buf := make([]byte, 64<<10) // reused: io.Copy would allocate one per file
	// other counts the bytes read that are not file content: names, PAX
	// records and the data of non-file entries, which tar.Reader skips.
	var other int64
	// paths bounds the paths the entries may add to a view; prevDir is the
	// directory the previous entry left in place.
	var paths int
	prevDir := ""
	// e is the entry being read, one variable for the whole layer: Inspect
	// takes its address, which would otherwise cost an allocation per
	// entry.
	var e Entry
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return cs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: after %d entries: %w", ErrBadTar, n, err)
		}
		if err := opts.checkHeader(n, hdr); err != nil {
			return nil, err
		}
		other += headerBytes(hdr)
		var ok bool
		e, ok, err = entryFromHeader(cs, hdr)
		if err != nil {
			return nil, err
		}
		e.Index = n
		if !ok || e.Kind != EntryFile {
			if carriesData(hdr.Typeflag) {
				other += hdr.Size
			}
		}
		if opts.MaxContentBytes > 0 && cs.ContentBytes+other > opts.MaxContentBytes {
			return nil, fmt.Errorf("%w: %s: more than %d bytes of names, attributes and skipped data (cap)", ErrTooLarge, quoteName(hdr.Name), opts.MaxContentBytes)
		}
		if !ok {
			continue
		}
		if err := opts.checkEntryPaths(&e); err != nil {
			return nil, err
		}
		paths += newPaths(&e, &prevDir)
		if opts.MaxEntries > 0 && paths > opts.MaxEntries {
			return nil, fmt.Errorf("%w: %s: the entries add more than %d paths with their parent directories (cap)", ErrTooManyEntries, quoteName(hdr.Name), opts.MaxEntries)
		}
		if e.Kind == EntryFile {
			cs.ContentBytes += hdr.Size
			if err := opts.readContent(&e, hdr, tr, h, buf, cs.ContentBytes+other); err != nil {
				return nil, err
			}
		}
		cs.Append(e)
	}
}

// checkHeader rejects the n-th header (from 0) past the entry cap or
// with a negative size.
func (opts ReadOptions) checkHeader(n int, hdr *tar.Header) error {
	if opts.MaxEntries > 0 && n >= opts.MaxEntries {
		return fmt.Errorf("%w: more than %d entries (cap)", ErrTooManyEntries, opts.MaxEntries)
	}
	if int64(n) > math.MaxUint32 {
		// Entry.Index is stored in 32 bits.
		return fmt.Errorf("%w: more than %d entries", ErrTooManyEntries, uint64(math.MaxUint32)+1)
	}
	if hdr.Size < 0 {
		return fmt.Errorf("%w: %s: negative size", ErrBadTar, quoteName(hdr.Name))
	}
	return nil
}

// checkEntryPaths applies the path caps of opts to the path of e and,
// for a hard link, to its target.
func (opts ReadOptions) checkEntryPaths(e *Entry) error {
	if err := opts.CheckPath(e.Path); err != nil {
		return err
	}
	if e.Kind == EntryHardlink {
		if err := opts.CheckPath(e.Linkname); err != nil {
			return fmt.Errorf("hard link %s: %w", quoteName(e.Path), err)
		}
	}
	return nil
}

// readContent reads the content of the file e from tr, through buf, into
// its size and hash (h, reset first) and whatever opts.Inspect asks for,
// once total, the bytes read with it, is known to be within the cap.
func (opts ReadOptions) readContent(e *Entry, hdr *tar.Header, tr *tar.Reader, h hash.Hash, buf []byte, total int64) error {
	if opts.MaxContentBytes > 0 && total > opts.MaxContentBytes {
		return fmt.Errorf("%w: %s: more than %d bytes of content (cap)", ErrTooLarge, quoteName(hdr.Name), opts.MaxContentBytes)
	}
	h.Reset()
	var w io.Writer = h
	if opts.Inspect != nil {
		if iw := opts.Inspect(e, hdr); iw != nil {
			w = io.MultiWriter(h, iw)
		}
	}
	n, err := io.CopyBuffer(w, onlyReader{tr}, buf)
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrBadTar, quoteName(hdr.Name), err)
	}
	e.Size = n
	h.Sum(e.Hash[:0])
	return nil
}

// CheckPath applies the path caps of opts to p (a cleaned path), before
// anything is built from it.
func (opts ReadOptions) CheckPath(p string) error {
	if opts.MaxPathBytes > 0 && len(p) > opts.MaxPathBytes {
		return fmt.Errorf("%w: %s: %d bytes, more than %d (cap)", ErrLongPath, quoteName(p), len(p), opts.MaxPathBytes)
	}
	if opts.MaxPathDepth > 0 {
		// Count no further than the cap: p may be long when only the
		// depth is capped.
		depth := 1
		for i := 0; i < len(p); i++ {
			if p[i] == '/' {
				if depth++; depth > opts.MaxPathDepth {
					return fmt.Errorf("%w: %s: more than %d levels (cap)", ErrLongPath, quoteName(p), opts.MaxPathDepth)
				}
			}
		}
	}
	return nil
}

// quoteName quotes a tar name for an error message, cut to a length a
// person can read: hostile names may be a megabyte long.
func quoteName(s string) string {
	const max = 200
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// newPaths bounds how many paths e may add to a view: its own, plus its
// ancestors beyond those shared with prevDir, the directory that the
// previous entry left in place. Tars list entries depth first, so for a
// real layer the count is close to the number of entries; a hostile one
// that makes every entry a new deep path is counted for what it costs.
// Whiteouts add nothing; an opaque marker may add its directory.
func newPaths(e *Entry, prevDir *string) int {
	switch e.Kind {
	case EntryWhiteout:
		return 0
	case EntryOpaque:
		return depth(e.Path)
	case EntryFile, EntryDir, EntrySymlink, EntryHardlink, EntryCharDevice, EntryBlockDevice, EntryFIFO:
	}
	dir, _ := splitPath(e.Path)
	n := 1 + depth(dir) - sharedDepth(*prevDir, dir)
	*prevDir = dir
	if e.Kind == EntryDir {
		*prevDir = e.Path
	}
	return n
}

// sharedDepth counts the leading components a and b have in common.
func sharedDepth(a, b string) int {
	n := 0
	for a != "" && b != "" {
		ca, ra, _ := strings.Cut(a, "/")
		cb, rb, _ := strings.Cut(b, "/")
		if ca != cb {
			break
		}
		n++
		a, b = ra, rb
	}
	return n
}

// onlyReader hides any WriterTo/ReaderFrom so io.CopyBuffer uses our buffer.
type onlyReader struct{ io.Reader }
