package squash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/layerlint/layerlint/internal/engine"
)

// engineTarget loads the result into a local engine (OutputEngine): it
// writes a docker archive (the archive target's work) into a private
// temporary folder, verifies it there, and only then sends it to the
// engine's POST /images/load. The engine never sees an image that failed
// its proof.
type engineTarget struct {
	host string
	// sourceHost is Target.SourceEngine.
	sourceHost string
	archive    archiveTarget
	dir        string
	ctx        context.Context
	// loaded are the names the engine reported; set by commit.
	loaded []string
}

var _ target = (*engineTarget)(nil)

func (t *engineTarget) prepare(imgs []Image) (blobSink, error) {
	dir, err := os.MkdirTemp("", "layerlint-load-")
	if err != nil {
		return nil, fmt.Errorf("staging the load into %s: %w", t.host, err)
	}
	t.dir = dir
	t.archive.path = filepath.Join(dir, "image.tar")
	return t.archive.prepare(imgs)
}

func (t *engineTarget) layers(opts Options) Options { return t.archive.layers(opts) }

func (t *engineTarget) write(ctx context.Context, w *written) error {
	t.ctx = ctx
	return t.archive.write(ctx, w)
}

func (t *engineTarget) verify(ctx context.Context, w *written, opts *VerifyOptions) error {
	return t.archive.verify(ctx, w, opts)
}

// commit sends the verified archive to the engine.
func (t *engineTarget) commit(w *written) (err error) {
	if t.alreadyThere(w) {
		w.out.LoadSkipped = true
		return nil
	}
	c, err := engine.New(t.host)
	if err != nil {
		return fmt.Errorf("loading into %s: %w: %w", t.host, err, ErrBadPlan)
	}
	defer c.Close()
	f, err := os.Open(t.archive.path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if t.loaded, err = c.Load(t.ctx, f); err != nil {
		return err
	}
	w.out.Loaded = t.loaded
	return nil
}

// alreadyThere reports that loading would give the engine nothing new:
// the image is the source's byte for byte, the source is this engine, and
// every name the archive carries is the one the image was read under. A
// load would only spend the time of sending the whole image again.
func (t *engineTarget) alreadyThere(w *written) bool {
	if !w.out.Unchanged || t.sourceHost == "" || t.sourceHost != t.host || len(w.imgs) != 1 {
		return false
	}
	from, err := name.NewTag(w.imgs[0].Analysis.Image.Name)
	if err != nil {
		return false
	}
	for _, tag := range t.archive.tags {
		if tag != familiar(from) {
			return false
		}
	}
	return len(t.archive.tags) > 0
}

func (t *engineTarget) rollback() error { return t.archive.rollback() }

func (t *engineTarget) release() error {
	err := t.archive.release()
	if t.dir != "" {
		err = errors.Join(err, os.RemoveAll(t.dir))
	}
	return err
}
