package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// OpenBlob returns the layer blob as stored (still compressed), for tools
// that copy a layer without touching it. With verify, the reader returns an
// error wrapping ErrDigestMismatch instead of io.EOF when the bytes read do
// not have the layer's digest and size, so a copy that reached EOF is a
// faithful one.
func (l *Layer) OpenBlob(verify bool) (io.ReadCloser, error) {
	if l.st == nil {
		return nil, fmt.Errorf("layer %d (%s): not from an opened Source: %w", l.Index, l.Digest, ErrInvalid)
	}
	if l.Missing {
		return nil, fmt.Errorf("layer %d (%s): %s: %w", l.Index, l.Digest, l.MissingReason, ErrNotFound)
	}
	rc, _, err := l.st.open(l.blob)
	if err != nil {
		return nil, fmt.Errorf("opening layer %d blob %s needed by %s: %w", l.Index, l.Digest, l.manifest, err)
	}
	if !verify {
		return rc, nil
	}
	if l.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("layer %d digest %s: unsupported algorithm: %w", l.Index, l.Digest, ErrInvalid)
	}
	return &verifiedBlob{rc: rc, l: l, h: sha256.New()}, nil
}

// verifiedBlob hashes what it hands out and checks it at EOF.
type verifiedBlob struct {
	rc io.ReadCloser
	l  *Layer
	h  hash.Hash
	n  int64
}

func (v *verifiedBlob) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	// io.Reader contract: EOF is returned as is, so it is compared as is.
	if err == io.EOF {
		if v.n != v.l.Size {
			return n, fmt.Errorf("layer %d blob %s: size %d, descriptor says %d: %w", v.l.Index, v.l.Digest, v.n, v.l.Size, ErrDigestMismatch)
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.l.Digest.Hex {
			return n, fmt.Errorf("layer %d: blob digest: expected %s, actual sha256:%s: %w", v.l.Index, v.l.Digest, got, ErrDigestMismatch)
		}
	}
	return n, err
}

func (v *verifiedBlob) Close() error { return v.rc.Close() }
