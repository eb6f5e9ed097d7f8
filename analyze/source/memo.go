package source

import (
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BlobFile identifies the local file a blob is read from, as the system
// names its state: the file (device and inode), its size, and the times
// of its last write (mtime) and of its last change of any kind (ctime).
// An unprivileged process can set a file's mtime but never its ctime,
// which every write, rename, chmod and utimes sets to the current time.
type BlobFile struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// VerifiedBlobs remembers local blob files whose digest was checked, so
// that a later check of the same, unchanged file is a lookup. Only a store
// the runner alone writes should implement it: what it holds is trusted.
type VerifiedBlobs interface {
	// Verified reports whether f was seen to have digest d.
	Verified(f BlobFile, d v1.Hash) bool
	// RememberVerified records that f has digest d.
	RememberVerified(f BlobFile, d v1.Hash)
}

// settleTime is how long ago a file's last change must be for its state to
// be remembered. A file system keeps times at a granularity (a clock tick,
// a second, two on some): a file changed within the same tick as its last
// change keeps the same ctime. Remembering only files whose ctime is well
// before the read started means that any write after (or during) the read
// gives the file another ctime, so the memo never vouches for bytes it did
// not hash. (Git's index guards its "racily clean" entries the same way.)
const settleTime = 2 * time.Second

// blobFile returns the state of the open blob r when r is a local file of
// an image layout (never a member of an archive, never a download), and
// whether it is one.
func (l *Layer) blobFile(r io.Reader) (BlobFile, bool) {
	if _, ok := l.st.(*dirStore); !ok {
		return BlobFile{}, false
	}
	return fileState(r)
}

// settled reports whether f, seen at open and again at after the read,
// is the same file unchanged, last changed settleTime before start.
func settled(f, after BlobFile, start time.Time) bool {
	return f == after && f.Ctime < start.Add(-settleTime).UnixNano()
}

// VerifyBlobMemo is VerifyBlob with a memo (nil for none) of blob files
// verified before: a local blob file the memo holds, unchanged since, with
// the digest and size of the descriptor, is not read again; one read and
// found right is remembered.
func (l *Layer) VerifyBlobMemo(m VerifiedBlobs) error {
	return l.verifyBlob(m, time.Now())
}

// RememberVerified tells m (nil for none) that the stream's blob has its
// digest, when the stream read a local blob file to its end with
// verification and found both digests right, and the file did not change
// since it was opened.
func (s *Stream) RememberVerified(m VerifiedBlobs) {
	if m == nil || !s.verify || !s.fileOK || !s.checked {
		return
	}
	if now, ok := fileState(s.blob); ok && settled(s.fileState, now, s.opened) && s.fileState.Size == s.layer.Size {
		m.RememberVerified(s.fileState, s.layer.Digest)
	}
}
