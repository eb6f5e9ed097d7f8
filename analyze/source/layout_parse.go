package source

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readCapped reads all of r, failing beyond limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes: %w", limit, ErrInvalid)
	}
	return b, nil
}

// readFile reads a small JSON file of the store.
func readFile(st store, name string) (b []byte, err error) {
	rc, _, err := st.open(name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return readCapped(rc, maxJSONSize)
}

// checkDescriptor rejects descriptors that cannot name a blob of at most
// limit bytes.
func checkDescriptor(d v1.Descriptor, limit int64) error {
	if d.Digest.Algorithm == "" || d.Digest.Hex == "" {
		return fmt.Errorf("descriptor without digest: %w", ErrInvalid)
	}
	if d.Size < 0 || d.Size > limit {
		return fmt.Errorf("descriptor %s: size %d out of range [0, %d]: %w", d.Digest, d.Size, limit, ErrInvalid)
	}
	return nil
}

// digestOf hashes b with the algorithm of want.
func digestOf(want v1.Hash, b []byte) (v1.Hash, error) {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest %s: %w: %w", want, ErrInvalid, err)
	}
	h.Write(b)
	return v1.Hash{Algorithm: want.Algorithm, Hex: fmt.Sprintf("%x", h.Sum(nil))}, nil
}

func sameHash(a, b v1.Hash) bool {
	return a.Algorithm == b.Algorithm && subtle.ConstantTimeCompare([]byte(a.Hex), []byte(b.Hex)) == 1
}

func parseIndex(b []byte) (*v1.IndexManifest, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing index: %w: %w", ErrInvalid, err)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("index schemaVersion %d, want 2: %w", idx.SchemaVersion, ErrInvalid)
	}
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch idx.MediaType {
	case "", types.OCIImageIndex, types.DockerManifestList:
	default:
		return nil, fmt.Errorf("index has media type %q: %w", idx.MediaType, ErrInvalid)
	}
	return idx, nil
}

func parseManifest(b []byte) (*v1.Manifest, error) {
	m, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w: %w", ErrInvalid, err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schemaVersion %d, want 2: %w", m.SchemaVersion, ErrInvalid)
	}
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch m.MediaType {
	case "", types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, fmt.Errorf("manifest has media type %q: %w", m.MediaType, ErrInvalid)
	}
	// Media types are an open set; the unlisted ones are handled by default.
	//exhaustive:ignore
	switch m.Config.MediaType {
	case types.OCIConfigJSON, types.DockerConfigJSON:
	default:
		return nil, fmt.Errorf("config has media type %q, not an image config: %w", m.Config.MediaType, ErrInvalid)
	}
	return m, nil
}

func parseConfig(b []byte) (*v1.ConfigFile, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing config: %w: %w", ErrInvalid, err)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if d.Algorithm == "" {
			return nil, fmt.Errorf("config: empty diff_id: %w", ErrInvalid)
		}
	}
	return cfg, nil
}
