package source

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// countingMemo is a VerifiedBlobs in memory that counts its use.
type countingMemo struct {
	known            map[BlobFile]v1.Hash
	hits, remembered int
}

func (m *countingMemo) Verified(f BlobFile, d v1.Hash) bool {
	ok := m.known[f] == d
	if ok {
		m.hits++
	}
	return ok
}

func (m *countingMemo) RememberVerified(f BlobFile, d v1.Hash) {
	m.known[f] = d
	m.remembered++
}

// TestVerifyBlobMemo: a local blob file verified once is remembered by its
// state and not read again; one changed in place since (same size) has
// another ctime, so it is read again and its mismatch found; a file
// changed within settleTime of the check is never remembered.
func TestVerifyBlobMemo(t *testing.T) {
	t.Parallel()
	o := newLayout()
	o.top(t, o.image(t, nil, testLayer{tar: layerTar(t, "a", "some content")}))
	dir := o.files.writeDir(t)
	src, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src)
	l := src.Images()[0].Layers[0]
	m := &countingMemo{known: map[BlobFile]v1.Hash{}}
	later := time.Now().Add(2 * settleTime) // as if the blob had been written long before

	// Written just now: verified, not remembered.
	if err := l.verifyBlob(m, time.Now()); err != nil || m.remembered != 0 {
		t.Fatalf("fresh file: %v, remembered %d, want 0", err, m.remembered)
	}
	if err := l.verifyBlob(m, later); err != nil || m.remembered != 1 || m.hits != 0 {
		t.Fatalf("settled file: %v, remembered %d, hits %d; want 1, 0", err, m.remembered, m.hits)
	}
	if err := l.verifyBlob(m, later); err != nil || m.hits != 1 || m.remembered != 1 {
		t.Fatalf("second check: %v, hits %d, remembered %d; want 1, 1", err, m.hits, m.remembered)
	}
	// Changed in place, same size, mtime put back: the ctime moved.
	p := filepath.Join(dir, "blobs", "sha256", l.Digest.Hex)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'X'}, fi.Size()-1); err != nil {
		t.Fatal(err)
	}
	closeT(t, f)
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	wantErr(t, l.verifyBlob(m, later), ErrDigestMismatch, "blob digest")
	if m.hits != 1 {
		t.Errorf("a changed file was served by the memo (%d hits)", m.hits)
	}
}

// TestStreamRememberVerified: a stream read to its end with both digests
// right remembers its local blob file; one not verifying, or not read to
// the end, does not.
func TestStreamRememberVerified(t *testing.T) {
	t.Parallel()
	o := newLayout()
	o.top(t, o.image(t, nil, testLayer{tar: layerTar(t, "a", "some content")}))
	src, err := Open(o.files.writeDir(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	closeT(t, src)
	l := src.Images()[0].Layers[0]
	for _, tc := range []struct {
		name         string
		verify, read bool
		want         int
	}{
		{"verified to the end", true, true, 1},
		{"not verifying", false, true, 0},
		{"not read to the end", true, false, 0},
	} {
		m := &countingMemo{known: map[BlobFile]v1.Hash{}}
		s, err := l.Open(tc.verify)
		if err != nil {
			t.Fatal(err)
		}
		s.opened = time.Now().Add(2 * settleTime)
		if tc.read {
			if _, err := io.Copy(io.Discard, s); err != nil {
				t.Fatal(err)
			}
		}
		s.RememberVerified(m)
		closeT(t, s)
		if m.remembered != tc.want {
			t.Errorf("%s: remembered %d, want %d", tc.name, m.remembered, tc.want)
		}
	}
}
