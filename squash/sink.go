package squash

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// layoutSink writes blobs into an OCI layout directory: each to a temp
// file in blobs/sha256, fsynced, renamed to its digest, then the directory
// fsynced, so that a blob name never holds partial content and a blob is
// durable before anything that names it is written.
type layoutSink struct {
	fs  fsys
	dir string
	// mu guards created and temps: layers are written in parallel.
	mu sync.Mutex
	// created lists the blobs this sink added (not those already there),
	// so that a failed in-place run can take them back.
	created []v1.Hash
	// temps are the temp files not yet renamed or removed.
	temps map[string]bool
}

// newLayoutSink prepares dir/blobs/sha256.
func newLayoutSink(fsys fsys, dir string) (*layoutSink, error) {
	if err := fsys.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", dir, err)
	}
	return &layoutSink{fs: fsys, dir: dir, temps: map[string]bool{}}, nil
}

func (s *layoutSink) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }

func (s *layoutSink) blobPath(h v1.Hash) string {
	return filepath.Join(s.dir, "blobs", h.Algorithm, h.Hex)
}

// Has reports whether the layout holds the blob.
func (s *layoutSink) Has(h v1.Hash) bool {
	fi, err := os.Lstat(s.blobPath(h))
	return err == nil && fi.Mode().IsRegular()
}

// Create starts a blob in a temp file next to its final place.
func (s *layoutSink) Create() (blobWriter, error) {
	f, err := s.fs.CreateTemp(s.blobDir(), tempPrefix+"*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating blob in %s: %w", s.dir, err)
	}
	s.mu.Lock()
	s.temps[f.Name()] = true
	s.mu.Unlock()
	return &layoutBlob{s: s, f: f}, nil
}

// removeTemp removes a temp file; one that cannot be removed now stays
// listed for Remove.
func (b *layoutBlob) removeTemp() error {
	if err := b.s.fs.Remove(b.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b.s.mu.Lock()
	delete(b.s.temps, b.f.Name())
	b.s.mu.Unlock()
	return nil
}

// Remove deletes the blobs this sink created and the temp files left.
func (s *layoutSink) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, h := range s.created {
		if err := s.fs.Remove(s.blobPath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for name := range s.temps {
		if err := s.fs.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.created, s.temps = nil, map[string]bool{}
	return errors.Join(errs...)
}

type layoutBlob struct {
	s      *layoutSink
	f      file
	closed bool
}

func (b *layoutBlob) Write(p []byte) (int, error) { return b.f.Write(p) }

func (b *layoutBlob) Commit(h v1.Hash) error {
	if err := b.f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("syncing blob %s: %w", h, err), b.Abort())
	}
	b.closed = true
	if err := b.f.Close(); err != nil {
		return errors.Join(fmt.Errorf("closing blob %s: %w", h, err), b.removeTemp())
	}
	// Under the lock, so that two writers of one digest (a layer kept
	// twice) agree on which of them created it.
	b.s.mu.Lock()
	if b.s.Has(h) {
		b.s.mu.Unlock()
		return b.removeTemp() // same digest, same bytes
	}
	if err := b.s.fs.Rename(b.f.Name(), b.s.blobPath(h)); err != nil {
		b.s.mu.Unlock()
		return errors.Join(fmt.Errorf("storing blob %s: %w", h, err), b.removeTemp())
	}
	delete(b.s.temps, b.f.Name())
	b.s.created = append(b.s.created, h)
	b.s.mu.Unlock()
	if err := b.s.fs.SyncDir(b.s.blobDir()); err != nil {
		return fmt.Errorf("storing blob %s: %w", h, err)
	}
	return nil
}

func (b *layoutBlob) Abort() error {
	var cerr error
	if !b.closed {
		b.closed = true
		cerr = b.f.Close()
	}
	return errors.Join(cerr, b.removeTemp())
}

// blobSink receives the blobs of a rewritten image.
type blobSink interface {
	// Create starts a new blob.
	Create() (blobWriter, error)
	// Has reports whether the sink already holds a blob, so that copying
	// it can be skipped.
	Has(v1.Hash) bool
}

// blobWriter is one blob being written. Exactly one of Commit or Abort
// ends it.
type blobWriter interface {
	io.Writer
	// Commit stores the blob under its digest.
	Commit(digest v1.Hash) error
	Abort() error
}

// discard is the sink of a dry run: blobs are produced (so sizes are
// exact) and dropped.
type discard struct{}

// Create returns a writer that drops what it gets.
func (discard) Create() (blobWriter, error) { return discardBlob{}, nil }

// Has says yes: a dry run never copies untouched blobs.
func (discard) Has(v1.Hash) bool { return true }

type discardBlob struct{}

func (discardBlob) Write(p []byte) (int, error) { return len(p), nil }

func (discardBlob) Commit(v1.Hash) error { return nil }

func (discardBlob) Abort() error { return nil }
