package layercache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze/source"
)

// The memo of verified blob files (source.VerifiedBlobs) of a Dir: an
// empty file per (blob file state, digest), named by a SHA-256 of both, in
// the entry folders. Its presence is the whole fact, so there is nothing
// to parse. It is local to the runner by design: a blob file's device,
// inode and times mean something only on the machine that saw them, and
// the memo is trusted, so it must live where only the runner writes
// (never in a shared Redis). See docs/security.md.

// memoPrefix starts the name of a memo file; memo files are never entries.
const memoPrefix = ".v-"

// memoMaxAge is how long a memo file lives: the file it names is usually
// gone by then (a CI workspace), and one still there costs one hash again.
const memoMaxAge = 7 * 24 * time.Hour

var (
	_ source.VerifiedBlobs = (*Dir)(nil)
	_ source.VerifiedBlobs = (*Cache)(nil)
)

func memoPath(f source.BlobFile, d v1.Hash) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "layerlint-verified/1\x00%d\x00%d\x00%d\x00%d\x00%d\x00%s", f.Dev, f.Ino, f.Size, f.Mtime, f.Ctime, d))
	n := hex.EncodeToString(sum[:])
	return path.Join(n[:2], memoPrefix+n)
}

// Verified implements source.VerifiedBlobs.
func (d *Dir) Verified(f source.BlobFile, dg v1.Hash) bool {
	fi, err := d.root.Lstat(memoPath(f, dg))
	return err == nil && fi.Mode().IsRegular()
}

// RememberVerified implements source.VerifiedBlobs; a failure only costs a
// hash next time.
func (d *Dir) RememberVerified(f source.BlobFile, dg v1.Hash) {
	p := memoPath(f, dg)
	if err := d.root.Mkdir(path.Dir(p), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return
	}
	if w, err := d.root.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
		_ = w.Close() // empty: nothing to lose
	}
}

// Verified implements source.VerifiedBlobs over the store when it keeps a
// memo (a cache directory; never Redis).
func (c *Cache) Verified(f source.BlobFile, d v1.Hash) bool {
	m, ok := c.store.(source.VerifiedBlobs)
	return ok && !c.off.Load() && m.Verified(f, d)
}

// RememberVerified implements source.VerifiedBlobs.
func (c *Cache) RememberVerified(f source.BlobFile, d v1.Hash) {
	if m, ok := c.store.(source.VerifiedBlobs); ok && !c.off.Load() {
		m.RememberVerified(f, d)
	}
}
