package squash

import (
	"context"
	"errors"
	"fmt"

	"github.com/layerlint/layerlint/analyze/source"
)

// inPlaceTarget updates the source OCI layout (OutputInPlace) under its
// lock: new blobs are added beside the old ones, checked through a staging
// layout of hard links, and only then does index.json change, in one
// rename (inPlace.Swap). On a failure before that, the blobs it added are
// removed again.
type inPlaceTarget struct {
	fs   fsys
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
			return nil, fmt.Errorf("--in-place needs an OCI layout directory, not a %s: %w", im.Analysis.Image.Format, ErrBadPlan)
		}
	}
	unlock, err := lockLayout(t.dir)
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
	if t.unlock == nil {
		return nil
	}
	return t.unlock()
}
