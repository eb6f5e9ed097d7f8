package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/layerlint/layerlint/internal/engine"
)

// EngineHost returns the engine address a docker-daemon: or podman:
// reference goes to when Options.EngineHost is empty.
func EngineHost(f Format) string {
	if f == FormatPodman {
		return engine.PodmanHost(os.Getenv)
	}
	return engine.DockerHost(os.Getenv)
}

// EngineImageName completes NAME as docker save expects it: with ":latest"
// when neither a tag nor a digest is given (docker save NAME would export
// every tag of the repository).
func EngineImageName(n string) (string, error) {
	if _, err := name.ParseReference(n); err != nil {
		return "", fmt.Errorf("image name %q: %w: %w", n, ErrInvalid, err)
	}
	return withDefaultTag(n), nil
}

// openEngineStore streams the engine's `docker save` of the image into an
// unlinked temporary file and indexes it as a docker archive. A save
// stream cannot be read in one pass: manifest.json, which says what the
// layers are and in which order, comes after them. The file lives in a
// private (0700) directory and is unlinked as soon as it is open, so
// nothing stays behind, even when layerlint is killed; it is gone at Close.
// At most maxBytes (DefaultMaxSaveBytes when 0) are spooled.
func openEngineStore(ctx context.Context, ref Reference, host string, maxBytes int64) (_ store, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxSaveBytes
	}
	if host == "" {
		host = EngineHost(ref.Format)
	}
	img, err := EngineImageName(ref.Path)
	if err != nil {
		return nil, err
	}
	c, err := engine.New(host)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w: %w", ref, ErrInvalid, err)
	}
	defer c.Close()
	rc, err := c.Save(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ref, mapEngineErr(err))
	}
	defer func() { err = errors.Join(err, rc.Close()) }()
	dir, err := os.MkdirTemp("", "layerlint-engine-")
	if err != nil {
		return nil, fmt.Errorf("opening %s: spooling the save stream: %w", ref, err)
	}
	f, err := os.CreateTemp(dir, "save-*.tar")
	if err == nil {
		err = os.Remove(f.Name())
	}
	if rerr := os.Remove(dir); err == nil {
		err = rerr
	}
	if err != nil {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
		return nil, fmt.Errorf("opening %s: spooling the save stream: %w", ref, err)
	}
	fail := func(err error) (store, error) { return nil, errors.Join(err, f.Close()) }
	// One byte past the cap tells a stream over it from one exactly at it.
	n, err := io.Copy(f, io.LimitReader(rc, maxBytes+1))
	if err != nil {
		return fail(fmt.Errorf("opening %s: %w", ref, mapEngineErr(err)))
	}
	if n > maxBytes {
		return fail(fmt.Errorf("opening %s: spooling the save stream: more than %d bytes (cap): %w", ref, maxBytes, ErrSaveTooLarge))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("opening %s: %w", ref, err))
	}
	entries, err := indexTar(f)
	if err != nil {
		return fail(fmt.Errorf("indexing the save stream of %s: %w", ref, err))
	}
	return &tarStore{f: f, path: ref.String(), entries: entries}, nil
}

// mapEngineErr adds this package's sentinels to the engine's errors.
func mapEngineErr(err error) error {
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, engine.ErrUnreachable):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}
