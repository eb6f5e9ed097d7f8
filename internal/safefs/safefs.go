// Package safefs writes inside a directory that layerlint holds open, never
// following a symlink and never leaving it. Every file that layerlint
// creates, renames or deletes in a layout, an output folder or a work folder
// goes through a Dir: an image (or whoever else can write there) may plant
// symlinks, but a planted link makes the operation fail instead of sending
// root's write somewhere else.
//
// On Linux every name is resolved with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): no
// component may be a symlink, climb out with "..", or cross into another
// mount. Elsewhere names are resolved through os.Root (never out of the
// directory) and files are opened with O_NOFOLLOW, created with O_EXCL.
//
// Names are relative to the Dir, slash- or OS-separated; "" and "." name the
// Dir itself. New files follow the umask: 0644 and directories 0755 unless
// the caller asks for less.
package safefs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutside reports a name that is absolute or climbs out of the Dir.
var ErrOutside = errors.New("name leaves the directory")

// ErrSymlink reports a name that goes through a symlink (or a mount point)
// that safefs refused to follow.
var ErrSymlink = errors.New("path goes through a symlink or another mount")

// clean checks a relative name and returns it cleaned, slash-separated,
// "" for the directory itself.
func clean(name string) (string, error) {
	n := filepath.ToSlash(name)
	if filepath.IsAbs(name) || strings.HasPrefix(n, "/") || filepath.VolumeName(name) != "" {
		return "", fmt.Errorf("%q: %w", name, ErrOutside)
	}
	c := filepath.ToSlash(filepath.Clean(filepath.FromSlash(n)))
	if c == "." {
		return "", nil
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q: %w", name, ErrOutside)
	}
	return c, nil
}

// Rel returns target as a name relative to the directory at root, or
// ErrOutside when target is not below it. Both are made absolute first.
func Rel(root, target string) (string, error) {
	ar, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	at, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	r, err := filepath.Rel(ar, at)
	if err != nil {
		return "", fmt.Errorf("%s is not below %s: %w", target, root, ErrOutside)
	}
	c, err := clean(r)
	if err != nil {
		return "", fmt.Errorf("%s is not below %s: %w", target, root, ErrOutside)
	}
	return c, nil
}

// randomName returns pattern with its last "*" (or its end) replaced by
// random hex, as os.CreateTemp does.
func randomName(pattern string) (string, error) {
	if strings.ContainsAny(pattern, `/\`) {
		return "", fmt.Errorf("pattern %q: %w", pattern, ErrOutside)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	r := hex.EncodeToString(b[:])
	if i := strings.LastIndexByte(pattern, '*'); i >= 0 {
		return pattern[:i] + r + pattern[i+1:], nil
	}
	return pattern + r, nil
}

// join names base inside dir (both relative, cleaned).
func join(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

// CreateTemp creates a new file in the directory dir (relative to d) with
// a name made from pattern, opened for reading and writing with mode 0600,
// as os.CreateTemp does. The file's Name is its full path.
func (d *Dir) CreateTemp(dir, pattern string) (*os.File, error) {
	return d.CreateTempPerm(dir, pattern, 0o600)
}

// CreateTempPerm is CreateTemp with the file created with mode perm (less
// the umask), for files that others are meant to read once renamed into
// place.
func (d *Dir) CreateTempPerm(dir, pattern string, perm fs.FileMode) (*os.File, error) {
	c, err := clean(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "createtemp", Path: dir, Err: err}
	}
	for range 100 {
		n, err := randomName(pattern)
		if err != nil {
			return nil, &fs.PathError{Op: "createtemp", Path: d.full(c), Err: err}
		}
		f, err := d.OpenFile(join(c, n), os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, &fs.PathError{Op: "createtemp", Path: d.full(join(c, pattern)), Err: fs.ErrExist}
}

// MkdirTemp creates a new directory in dir (relative to d) named from
// pattern, mode 0700, and returns its name relative to d.
func (d *Dir) MkdirTemp(dir, pattern string) (string, error) {
	c, err := clean(dir)
	if err != nil {
		return "", &fs.PathError{Op: "mkdirtemp", Path: dir, Err: err}
	}
	for range 100 {
		n, err := randomName(pattern)
		if err != nil {
			return "", &fs.PathError{Op: "mkdirtemp", Path: d.full(c), Err: err}
		}
		err = d.Mkdir(join(c, n), 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return join(c, n), nil
	}
	return "", &fs.PathError{Op: "mkdirtemp", Path: d.full(join(c, pattern)), Err: fs.ErrExist}
}

// Create makes a new file (it must not exist), mode 0644 less the umask,
// open for writing.
func (d *Dir) Create(name string) (*os.File, error) {
	return d.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
}

// WriteFile creates name (which must not exist) holding data, synced.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode) error {
	f, err := d.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// ReadDir lists the directory name, sorted by name.
func (d *Dir) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := d.OpenFile(name, os.O_RDONLY|dirFlag, 0)
	if err != nil {
		return nil, err
	}
	entries, err := f.ReadDir(-1)
	err = errors.Join(err, f.Close())
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

// MkdirAll makes the directory name and any missing parents, each with
// perm; it is not an error when it exists as a directory.
func (d *Dir) MkdirAll(name string, perm fs.FileMode) error {
	c, err := clean(name)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	if c == "" {
		return nil
	}
	parts := strings.Split(c, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := d.Mkdir(p, perm)
		if err == nil {
			continue
		}
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := d.Lstat(p); serr == nil && fi.IsDir() {
				continue
			}
		}
		return err
	}
	return nil
}

// SyncDir makes the creations, renames and removals inside the directory
// name durable.
func (d *Dir) SyncDir(name string) error {
	f, err := d.OpenFile(name, os.O_RDONLY|dirFlag, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// full returns the path of the cleaned name c for messages and File names.
func (d *Dir) full(c string) string {
	if c == "" {
		return d.path
	}
	return filepath.Join(d.path, filepath.FromSlash(c))
}

// Path returns the path the Dir was opened with.
func (d *Dir) Path() string { return d.path }
