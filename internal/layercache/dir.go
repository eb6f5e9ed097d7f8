package layercache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/layerlint/layerlint/internal/safefs"
)

// DefaultMaxBytes is the default size limit of a cache directory.
const DefaultMaxBytes int64 = 2 << 30

// maxEntryBytes bounds an entry, in every store: Get reads no more of one
// (a larger one is a miss) and Cache.Put writes none larger. A layer at
// the default cap of 2 million entries takes about a hundred megabytes.
const maxEntryBytes = 256 << 20

// Dir is a Store in a directory: one file per entry, under a folder named
// by the entry name's first two characters. Writes go to a temp file that
// is renamed over the entry, so a reader sees a whole entry or none, and
// several processes may share the directory. Every access goes through
// internal/safefs, so a symlink planted in the directory makes the access
// fail instead of leading it elsewhere. When the entries pass the size limit, the least
// recently used are removed (a hit touches its entry's modification time).
type Dir struct {
	root     *safefs.Dir
	maxBytes int64

	mu   sync.Mutex
	size int64 // estimate of the bytes held; -1 until first counted
}

var _ Store = (*Dir)(nil)

// OpenDir opens (creating it, mode 0700) the cache directory at dir.
func OpenDir(dir string, maxBytes int64) (*Dir, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	r, err := safefs.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening cache directory: %w", err)
	}
	return &Dir{root: r, maxBytes: maxBytes, size: -1}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

func entryPath(name string) (string, error) {
	if len(name) < 3 || strings.ContainsAny(name, "/\\.") {
		return "", fmt.Errorf("cache entry name %q", name)
	}
	return path.Join(name[:2], name), nil
}

// Get implements Store.
func (d *Dir) Get(_ context.Context, name string) ([]byte, error) {
	p, err := entryPath(name)
	if err != nil {
		return nil, err
	}
	f, err := d.root.OpenFile(p, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, safefs.ErrSymlink) {
		return nil, nil // planted, not written by us: a miss, replaced by Put
	}
	if err != nil {
		return nil, fmt.Errorf("opening cache entry %s: %w", p, err)
	}
	defer f.Close() //nolint:errcheck // read-only
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading cache entry %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxEntryBytes {
		return nil, nil // not an entry we wrote: a miss, rewritten by Put
	}
	// One read into a buffer of the entry's size (io.ReadAll would grow
	// one step by step: a tenth of an all-cached run's time). A file that
	// changed size meanwhile reads short or long and fails its checksum.
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, nil // shrunk in place: not written by us, a miss rewritten by Put
	} else if err != nil {
		return nil, fmt.Errorf("reading cache entry %s: %w", p, err)
	}
	// Recency is a hint: a failure only ages the entry.
	touch(f)
	return data, nil
}

// Put implements Store.
func (d *Dir) Put(_ context.Context, name string, data []byte) (err error) {
	p, err := entryPath(name)
	if err != nil {
		return err
	}
	if err := d.root.Mkdir(name[:2], 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating cache folder %s: %w", name[:2], err)
	}
	f, err := d.root.CreateTemp(name[:2], ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing cache entry %s: %w", p, err)
	}
	tmp := path.Join(name[:2], path.Base(f.Name()))
	defer func() {
		if err != nil {
			_ = d.root.Remove(tmp) // best effort; eviction removes stale temp files
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close() // the write error says more
		return fmt.Errorf("writing cache entry %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing cache entry %s: %w", p, err)
	}
	// No fsync: an entry torn by a crash fails its checksum and is a miss.
	if err := d.root.Rename(tmp, p); err != nil {
		return fmt.Errorf("writing cache entry %s: %w", p, err)
	}
	return d.account(int64(len(data)))
}

// account adds n written bytes to the estimate and evicts when it passes
// the limit. The estimate is recounted from the directory on first use and
// after each eviction, since other processes write too.
func (d *Dir) account(n int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.size >= 0 {
		d.size += n
		if d.size <= d.maxBytes {
			return nil
		}
	}
	size, err := d.evict()
	d.size = size
	return err
}

type dirEntry struct {
	path  string
	size  int64
	mtime time.Time
}

// scanShard lists the entries of one shard directory with their total
// size, removing temp files older than stale.
func (d *Dir) scanShard(shard string, files []fs.DirEntry, stale time.Time) (entries []dirEntry, total int64) {
	for _, de := range files {
		if !de.Type().IsRegular() {
			continue
		}
		p := path.Join(shard, de.Name())
		fi, err := de.Info()
		if err != nil {
			continue // removed by another process meanwhile
		}
		if strings.HasPrefix(de.Name(), ".tmp-") {
			if fi.ModTime().Before(stale) {
				_ = d.root.Remove(p) // best effort
			}
			continue
		}
		if n, ok := strings.CutPrefix(de.Name(), lockPrefix); ok {
			// The lock of a layer whose decode failed or whose entry
			// another process evicted: removed once unused for a while.
			if fi.ModTime().Before(stale) && !slices.ContainsFunc(files, func(e fs.DirEntry) bool { return e.Name() == n }) {
				d.removeLock(n)
			}
			continue
		}
		if strings.HasPrefix(de.Name(), memoPrefix) {
			if fi.ModTime().Before(time.Now().Add(-memoMaxAge)) {
				_ = d.root.Remove(p) // best effort
			}
			continue
		}
		if strings.HasPrefix(de.Name(), ".") {
			continue // not an entry name
		}
		entries = append(entries, dirEntry{path: p, size: fi.Size(), mtime: fi.ModTime()})
		total += fi.Size()
	}
	return entries, total
}

// evict removes the least recently used entries until what remains is at
// most 80% of the limit, and temp files an hour old (left by a killed
// process). It returns the bytes that remain.
func (d *Dir) evict() (int64, error) {
	var entries []dirEntry
	var total int64
	stale := time.Now().Add(-time.Hour)
	top, err := d.root.ReadDir("")
	if err != nil {
		return 0, fmt.Errorf("counting the cache directory: %w", err)
	}
	for _, sub := range top {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		files, err := d.root.ReadDir(sub.Name())
		if err != nil {
			continue // removed, or not ours
		}
		es, size := d.scanShard(sub.Name(), files, stale)
		entries = append(entries, es...)
		total += size
	}
	if total <= d.maxBytes {
		return total, nil
	}
	slices.SortFunc(entries, func(a, b dirEntry) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	target := d.maxBytes / 10 * 8
	for _, e := range entries {
		if total <= target {
			break
		}
		// Removing only unlinks: a process reading the entry keeps its
		// open file whole. A failure (another process evicted it first,
		// or a system that cannot remove an open file) leaves it for the
		// next eviction.
		if err := d.root.Remove(e.path); err != nil {
			continue
		}
		d.removeLock(path.Base(e.path))
		total -= e.size
	}
	return total, nil
}
