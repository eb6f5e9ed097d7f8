package squash

import (
	"context"
	"errors"
	"fmt"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/safefs"
)

// inPlaceTarget updates the source OCI layout (OutputInPlace) under its
// lock: new blobs are added beside the old ones, checked through a staging
// layout of hard links, and only then does index.json change, in one
// rename (inPlace.Swap). On a failure before that, the blobs it added are
// removed again.
type inPlaceTarget struct {
	wrap func(fsys) fsys
	fs   fsys
	// root is the layout held open; set by prepare.
	root *safefs.Dir
	dir  string
	gc   bool
	sink *layoutSink
	// unlock lets go of the layout's lock; set by prepare.
	unlock func() error
}

var _ target = (*inPlaceTarget)(nil)

func (t *inPlaceTarget) prepare(imgs []Image) (blobSink, error) {
	for _, im := range imgs {
		if im.Analysis.Image.Format != source.FormatOCILayout {
			return nil, planErrorf(OptionNotInPlace, "the source is a %s, not an OCI layout directory", im.Analysis.Image.Format)
		}
	}
	root, err := safefs.Open(t.dir)
	if err != nil {
		return nil, fmt.Errorf("opening layout %s: %w", t.dir, err)
	}
	t.root = root
	t.fs = dirFS{d: root}
	if t.wrap != nil {
		t.fs = t.wrap(t.fs)
	}
	unlock, err := lockLayout(root)
	if err != nil {
		return nil, err
	}
	t.unlock = unlock
	if err := removeStale(t.fs, t.dir); err != nil {
		return nil, err
	}
	if t.sink, err = newLayoutSink(t.fs, t.dir); err != nil {
		return nil, err
	}
	return t.sink, nil
}

// write only writes the root: index.json changes in commit.
func (t *inPlaceTarget) write(_ context.Context, w *written) (err error) {
	w.out.Root, err = w.writeRoot(t.sink)
	return err
}

func (t *inPlaceTarget) verify(ctx context.Context, w *written, opts *VerifyOptions) (err error) {
	stage, err := stageForVerify(t.fs, t.dir, w.out.Root, w.out.Results)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, removeAll(t.fs, stage)) }()
	return verifyAll(ctx, w.imgs, w.out, "oci:"+stage+":verify", opts, stage)
}

func (t *inPlaceTarget) commit(w *written) (err error) {
	if w.out.Unchanged {
		return nil // index.json already lists these very images
	}
	ip := &inPlace{fs: t.fs, Dir: t.dir, Sink: t.sink, GC: t.gc}
	w.out.Kept, err = ip.Swap(w.replace)
	return err
}

func (t *inPlaceTarget) rollback() error {
	if t.sink == nil {
		return nil
	}
	return t.sink.Remove()
}

func (t *inPlaceTarget) release() error {
	var err error
	if t.unlock != nil {
		err = t.unlock()
	}
	if t.root != nil {
		err = errors.Join(err, t.root.Close())
	}
	return err
}
