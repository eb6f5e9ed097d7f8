package source

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// store is the small blob-store abstraction under every format: a read-only
// tree of named files. dirStore serves a directory, tarStore an archive
// indexed once. The OCI layout and docker-archive logic is written once on
// top of it, which is why ggcr's layout and tarball readers are not used:
// they re-open or re-scan the tar per blob and cannot tee one read into the
// two digests.
type store interface {
	// open returns the content of the regular file at name (slash-separated,
	// relative to the image root) and its size. An absent file wraps
	// ErrNotFound. Readers may be used concurrently with each other.
	open(name string) (io.ReadCloser, int64, error)
	// stat returns the size of the regular file at name, resolving links,
	// without reading it.
	stat(name string) (int64, error)
	// readAt reads len(p) bytes at off of the file at name; used to peek
	// at magic bytes without opening a stream.
	readAt(name string, p []byte, off int64) (int, error)
	// has reports whether name exists as any kind of entry.
	has(name string) bool
	close() error
}

// dirStore serves an image layout directory through os.Root, so that a
// symlink inside the layout cannot make us read outside of it.
type dirStore struct {
	root *os.Root
	path string
}

var _ store = (*dirStore)(nil)

func openDirStore(dir string) (*dirStore, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening layout directory %s: %w", dir, mapNotExist(err))
	}
	return &dirStore{root: root, path: dir}, nil
}

func (d *dirStore) statRegular(name string) (fs.FileInfo, error) {
	fi, err := d.root.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", d.path, name, mapRootErr(err))
	}
	// A FIFO or device would block or never end; only plain files are blobs.
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s/%s: not a regular file: %w", d.path, name, ErrInvalid)
	}
	return fi, nil
}

func (d *dirStore) open(name string) (io.ReadCloser, int64, error) {
	fi, err := d.statRegular(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("%s/%s: %w", d.path, name, mapRootErr(err))
	}
	return f, fi.Size(), nil
}

func (d *dirStore) stat(name string) (int64, error) {
	fi, err := d.statRegular(name)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (d *dirStore) readAt(name string, p []byte, off int64) (n int, err error) {
	f, _, err := d.open(name)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return 0, fmt.Errorf("%s/%s: no random access: %w", d.path, name, ErrInvalid)
	}
	return ra.ReadAt(p, off)
}

func (d *dirStore) has(name string) bool {
	_, err := d.root.Lstat(name)
	return err == nil
}

func (d *dirStore) close() error { return d.root.Close() }

// mapRootErr maps an error of os.Root: a missing file is ErrNotFound; any
// other failure to reach a file of the layout (a symlink that leaves it, a
// symlink loop, no permission) makes the layout unreadable, ErrInvalid.
func mapRootErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return mapNotExist(err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// mapNotExist makes a missing file test as ErrNotFound while keeping the
// original error in the chain.
func mapNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// tarKind is the kind of an archive member that the index keeps.
type tarKind uint8

const (
	tarRegular tarKind = iota + 1
	tarSymlink
	tarHardlink
	tarDir
	tarOther
)

// tarEntry locates one member's data inside the archive file.
type tarEntry struct {
	kind     tarKind
	offset   int64
	size     int64
	linkname string
	sparse   bool
}

// maxLinkHops bounds symlink resolution inside an archive (the Linux
// limit), which also ends symlink loops.
const maxLinkHops = 40

// tarStore serves the members of a tar archive. The headers are scanned
// once when it is built; afterwards every member is an io.SectionReader over
// the same file, so nothing is extracted and the tar is never re-scanned.
type tarStore struct {
	f       *os.File
	path    string
	entries map[string]tarEntry
}

var _ store = (*tarStore)(nil)

// openTarStore opens and indexes the archive at p.
func openTarStore(p string) (*tarStore, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening archive %s: %w", p, mapNotExist(err))
	}
	entries, err := indexTar(f)
	if err != nil {
		if cerr := f.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, fmt.Errorf("indexing archive %s: %w", p, err)
	}
	return &tarStore{f: f, path: p, entries: entries}, nil
}

// indexTar records name → location of every member. archive/tar skips
// member data with Seek when its reader is an io.Seeker, so indexing costs
// one read per header, not a read of the whole archive.
func indexTar(f io.ReadSeeker) (map[string]tarEntry, error) {
	entries := make(map[string]tarEntry)
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar header: %w: %w", ErrInvalid, err)
		}
		name := cleanName(hdr.Name)
		if name == "" {
			continue
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, fmt.Errorf("locating tar member %s: %w", hdr.Name, err)
		}
		e := tarEntry{offset: off, size: hdr.Size, linkname: hdr.Linkname}
		switch hdr.Typeflag {
		case tar.TypeReg:
			e.kind = tarRegular
			for k := range hdr.PAXRecords {
				if strings.HasPrefix(k, "GNU.sparse.") {
					e.sparse = true
				}
			}
		case tar.TypeGNUSparse:
			e.kind, e.sparse = tarRegular, true
		case tar.TypeSymlink:
			e.kind = tarSymlink
		case tar.TypeLink:
			e.kind = tarHardlink
		case tar.TypeDir:
			e.kind = tarDir
		default:
			e.kind = tarOther
		}
		if e.size < 0 {
			return nil, fmt.Errorf("tar member %s: negative size: %w", hdr.Name, ErrInvalid)
		}
		// A later member of the same name replaces an earlier one, as when
		// tar extracts.
		entries[name] = e
	}
	return entries, nil
}

// cleanName turns an archive or layout path into the key of the index: no
// leading "/" or "./", cleaned; ".." cannot climb above the root (it is
// clamped there, as in a chroot). It returns "" for the root itself.
func cleanName(name string) string {
	name = path.Clean("/" + name)
	name = strings.TrimPrefix(name, "/")
	if name == "" || name == "." {
		return ""
	}
	return name
}

// lookup resolves name, following symlinks (relative to the link's
// directory) and hard links (relative to the archive root).
func (t *tarStore) lookup(name string) (tarEntry, error) {
	key := cleanName(name)
	for range maxLinkHops {
		e, ok := t.entries[key]
		if !ok {
			return tarEntry{}, fmt.Errorf("%s in archive %s: %w", name, t.path, ErrNotFound)
		}
		switch e.kind {
		case tarRegular:
			if e.sparse {
				return tarEntry{}, fmt.Errorf("%s in archive %s: sparse member: %w", name, t.path, ErrInvalid)
			}
			return e, nil
		case tarSymlink:
			target := e.linkname
			if !strings.HasPrefix(target, "/") {
				target = path.Join(path.Dir(key), target)
			}
			key = cleanName(target)
		case tarHardlink:
			key = cleanName(e.linkname)
		case tarDir, tarOther:
			return tarEntry{}, fmt.Errorf("%s in archive %s: not a regular file: %w", name, t.path, ErrInvalid)
		}
		if key == "" {
			return tarEntry{}, fmt.Errorf("%s in archive %s: link to the archive root: %w", name, t.path, ErrInvalid)
		}
	}
	return tarEntry{}, fmt.Errorf("%s in archive %s: too many links (loop?): %w", name, t.path, ErrInvalid)
}

func (t *tarStore) open(name string) (io.ReadCloser, int64, error) {
	e, err := t.lookup(name)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(io.NewSectionReader(t.f, e.offset, e.size)), e.size, nil
}

func (t *tarStore) stat(name string) (int64, error) {
	e, err := t.lookup(name)
	if err != nil {
		return 0, err
	}
	return e.size, nil
}

func (t *tarStore) readAt(name string, p []byte, off int64) (int, error) {
	e, err := t.lookup(name)
	if err != nil {
		return 0, err
	}
	return io.NewSectionReader(t.f, e.offset, e.size).ReadAt(p, off)
}

func (t *tarStore) has(name string) bool {
	_, ok := t.entries[cleanName(name)]
	return ok
}

func (t *tarStore) close() error { return t.f.Close() }
