package squash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/layerlint/layerlint/analyze/source"
)

// layoutTarget writes a new OCI layout directory (OutputLayout). The
// directory must be absent or empty; on a failure it is removed again (or
// emptied, when it was there before).
type layoutTarget struct {
	wrap func(fsys) fsys
	fs   fsys
	// closeFS lets go of the folder that holds dir; set by prepare.
	closeFS func() error
	dir     string
	source  source.Reference
	sink    *layoutSink
	// undo takes the output back; set by prepare.
	undo func() error
	// keepTypes keeps Docker media types.
	keepTypes bool
}

var _ target = (*layoutTarget)(nil)

func (t *layoutTarget) prepare([]Image) (blobSink, error) {
	// Every write goes below the folder that holds the output, held open:
	// a symlink planted at the output or below it fails the write.
	parent := filepath.Dir(t.dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating the folder of output %s: %w", t.dir, err)
	}
	var err error
	if t.fs, t.closeFS, err = openFS(parent, t.wrap); err != nil {
		return nil, fmt.Errorf("output %s: %w", t.dir, err)
	}
	undo, err := prepareOutput(t.fs, t.dir)
	if err != nil {
		return nil, err
	}
	if t.sink, err = newLayoutSink(t.fs, t.dir); err != nil {
		return nil, errors.Join(err, undo())
	}
	t.undo = undo
	return t.sink, nil
}

// layers: an OCI layout gets OCI media types unless asked to keep them.
func (t *layoutTarget) layers(opts Options) Options {
	opts.ociTypes = !t.keepTypes
	return opts
}

// write lists the images in index.json. Read from an OCI layout, the
// source's index is written again with the fixed manifests replaced.
func (t *layoutTarget) write(_ context.Context, w *written) error {
	root, kept, err := keepOthers(t.sink, t.source, w.replace)
	if err != nil {
		return err
	}
	if !kept {
		if root, err = w.writeRoot(t.sink); err != nil {
			return err
		}
	}
	w.out.Root = root
	roots := tagged(root, w.tags)
	if w.out.Unchanged {
		// Nothing changed: the output is the input byte for byte, its
		// index.json and oci-layout too when they say what ours would.
		layout, index, same, err := sourceLayoutFiles(t.source, roots)
		if err != nil {
			return err
		}
		if same {
			return writeLayoutFiles(t.fs, t.dir, layout, index)
		}
	}
	return writeLayoutIndex(t.fs, t.dir, roots)
}

func (t *layoutTarget) verify(ctx context.Context, w *written, opts *VerifyOptions) error {
	return verifyAll(ctx, w.imgs, w.out, "oci:"+t.dir+"@"+w.out.Root.Digest.String(), opts, t.dir)
}

// commit has nothing to do: the new layout was complete after write.
func (t *layoutTarget) commit(*written) error { return nil }

func (t *layoutTarget) rollback() error {
	if t.undo == nil {
		return nil
	}
	return t.undo()
}

func (t *layoutTarget) release() error {
	if t.closeFS == nil {
		return nil
	}
	return t.closeFS()
}
