package squash

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// archiveTarget writes a `docker save` tarball (OutputDockerArchive): the
// blobs go to a staging layout next to the archive, which is then written
// from it through a temp file and a rename. A docker archive holds one
// image, so one platform.
type archiveTarget struct {
	wrap func(fsys) fsys
	fs   fsys
	// closeFS lets go of the archive's folder; set by prepare.
	closeFS func() error
	path    string
	// stage is the staging layout, removed by release.
	stage string
	sink  *layoutSink
	// archived: the archive is in place, and rollback removes it.
	archived bool
	// asked are the tags asked for; tags the RepoTags written (set by
	// prepare).
	asked, tags []string
}

var _ target = (*archiveTarget)(nil)

func (t *archiveTarget) prepare(imgs []Image) (blobSink, error) {
	if len(imgs) != 1 {
		return nil, planErrorf(OptionPlatform, "a docker archive holds one image per platform")
	}
	var err error
	if t.tags, err = archiveTags(t.asked, imgs[0].Analysis.Image); err != nil {
		return nil, err
	}
	if t.fs, t.closeFS, err = openFS(filepath.Dir(t.path), t.wrap); err != nil {
		return nil, fmt.Errorf("output %s: %w", t.path, err)
	}
	stage, err := t.fs.MkdirTemp(filepath.Dir(t.path), tempPrefix+"stage-")
	if err != nil {
		return nil, fmt.Errorf("staging %s: %w", t.path, err)
	}
	t.stage = stage
	if t.sink, err = newLayoutSink(t.fs, stage); err != nil {
		return nil, err
	}
	return t.sink, nil
}

func (t *archiveTarget) write(_ context.Context, w *written) error {
	root, err := w.writeRoot(t.sink)
	if err != nil {
		return err
	}
	w.out.Root = root
	if err := writeLayoutIndex(t.fs, t.stage, []v1.Descriptor{root}); err != nil {
		return err
	}
	if err := writeDockerArchive(t.fs, t.stage, t.path, t.tags); err != nil {
		if errors.Is(err, errCommitted) {
			err = errors.Join(err, t.fs.Remove(t.path))
		}
		return err
	}
	t.archived = true
	return nil
}

// layers: docker save stores every layer uncompressed, and so does this
// archive unless a compression is asked for; then every layer gets it.
// One compression for all layers matters: some readers (crane) take the
// first layer's for all.
func (t *archiveTarget) layers(opts Options) Options {
	if opts.Compression == CompressionSource {
		opts.Compression = CompressionNone
	}
	opts.ForceCompression = true
	return opts
}

// verify reads the archive back, then runs ggcr's validation on it.
func (t *archiveTarget) verify(ctx context.Context, w *written, opts *VerifyOptions) error {
	if err := verifyAll(ctx, w.imgs, w.out, "docker-archive:"+t.path, opts, ""); err != nil {
		return err
	}
	if err := validateDockerArchive(t.path, w.out.Results[0]); err != nil {
		w.out.Checks[0].Problems = append(w.out.Checks[0].Problems, err.Error())
	}
	return nil
}

// commit has nothing to do: the archive was renamed into place by write.
func (t *archiveTarget) commit(*written) error { return nil }

func (t *archiveTarget) rollback() error {
	if !t.archived {
		return nil
	}
	return t.fs.Remove(t.path)
}

func (t *archiveTarget) release() error {
	var err error
	if t.stage != "" {
		err = removeAll(t.fs, t.stage)
	}
	if t.closeFS != nil {
		err = errors.Join(err, t.closeFS())
	}
	return err
}
