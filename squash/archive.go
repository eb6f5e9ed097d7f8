package squash

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// archiveManifest is one entry of a docker archive's manifest.json.
type archiveManifest struct {
	Config       string                    `json:"Config"`
	RepoTags     []string                  `json:"RepoTags"`
	Layers       []string                  `json:"Layers"`
	LayerSources map[v1.Hash]v1.Descriptor `json:"LayerSources,omitempty"`
}

// writeDockerArchive writes the one image of a finished staging layout as
// what `docker save` (Docker 25 and later) writes, at dst, through a temp
// file next to dst, fsynced and renamed, then the directory fsynced:
//
//   - the blobs under blobs/sha256/ (layers as the staging layout holds
//     them: uncompressed unless a compression was asked for, as docker
//     save does),
//   - manifest.json, with RepoTags (docker load names the image from it),
//   - repositories (REPO → TAG → top layer), which older loaders read,
//   - oci-layout and index.json: the same tar is an OCI layout, whose
//     index.json lists the manifest once per tag.
//
// Entries are written in a fixed order with fixed headers: the bytes
// depend only on the image and the tags.
func writeDockerArchive(fsys fsys, layoutDir, dst string, tags []string) (err error) {
	root, err := os.OpenRoot(layoutDir)
	if err != nil {
		return fmt.Errorf("reading staged layout: %w", err)
	}
	defer root.Close() //nolint:errcheck // read-only
	rawIdx, err := root.ReadFile("index.json")
	if err != nil {
		return fmt.Errorf("reading staged layout: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(rawIdx, &idx); err != nil {
		return fmt.Errorf("reading staged layout: %w", err)
	}
	if len(idx.Manifests) != 1 || !idx.Manifests[0].MediaType.IsImage() {
		return planErrorf(OptionPlatform, "a docker archive holds one image per platform")
	}
	md := idx.Manifests[0]
	rawM, err := root.ReadFile(path.Join("blobs", md.Digest.Algorithm, md.Digest.Hex))
	if err != nil {
		return fmt.Errorf("reading staged manifest: %w", err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(rawM, &m); err != nil {
		return fmt.Errorf("reading staged manifest: %w", err)
	}
	rawCfg, err := root.ReadFile(path.Join("blobs", m.Config.Digest.Algorithm, m.Config.Digest.Hex))
	if err != nil {
		return fmt.Errorf("reading staged config: %w", err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(rawCfg, &cfg); err != nil {
		return fmt.Errorf("reading staged config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("staged image: %d layers, %d diff_ids", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}

	entry := archiveManifest{Config: blobName(m.Config.Digest), RepoTags: tags}
	repos := map[string]map[string]string{}
	var ociEntries []v1.Descriptor
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return fmt.Errorf("tag %q for the docker archive: %w: %w", t, err, ErrBadPlan)
		}
		repo := familiarRepo(tag)
		if repos[repo] == nil {
			repos[repo] = map[string]string{}
		}
		if len(m.Layers) > 0 {
			repos[repo][tag.TagStr()] = m.Layers[len(m.Layers)-1].Digest.Hex
		}
		d := v1.Descriptor{MediaType: md.MediaType, Digest: md.Digest, Size: md.Size, Annotations: map[string]string{
			annotationContainerdName: tag.Name(), specs.AnnotationRefName: tag.TagStr(),
		}}
		ociEntries = append(ociEntries, d)
	}

	dir := filepath.Dir(dst)
	f, err := fsys.CreateTemp(dir, tempPrefix+filepath.Base(dst)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	defer func() {
		if err != nil && !errors.Is(err, errCommitted) {
			if rerr := fsys.Remove(f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	aw := &archiveWriter{tw: tar.NewWriter(f), root: root, seen: map[v1.Hash]bool{}}
	werr := aw.dir("blobs/")
	werr = errors.Join(werr, aw.dir("blobs/sha256/"))
	for i, l := range m.Layers {
		if werr != nil {
			break
		}
		present, err := aw.blob(l.Digest, l.Size)
		if err != nil {
			werr = fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
			break
		}
		if !present {
			// A non-distributable layer the image never held: docker
			// records where it comes from.
			if entry.LayerSources == nil {
				entry.LayerSources = map[v1.Hash]v1.Descriptor{}
			}
			entry.LayerSources[cfg.RootFS.DiffIDs[i]] = l
		}
		entry.Layers = append(entry.Layers, blobName(l.Digest))
	}
	if werr == nil {
		_, werr = aw.blob(m.Config.Digest, m.Config.Size)
	}
	if werr == nil {
		_, werr = aw.blob(md.Digest, md.Size)
	}
	for _, file := range []struct {
		name string
		v    any
	}{
		{"index.json", v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ociEntries}},
		{"manifest.json", []archiveManifest{entry}},
		{"oci-layout", specs.ImageLayout{Version: specs.ImageLayoutVersion}},
		{"repositories", repos},
	} {
		if werr != nil {
			break
		}
		werr = aw.json(file.name, file.v)
	}
	if werr == nil {
		werr = aw.tw.Close()
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("writing %s: %w", dst, werr)
	}
	if err := fsys.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("writing %s: %w: %w", dst, errCommitted, err)
	}
	return nil
}

// annotationContainerdName is the full image name Docker and containerd
// put on index.json entries.
const annotationContainerdName = "io.containerd.image.name"

func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// familiarRepo is the repository as docker writes it in `repositories`.
func familiarRepo(t name.Tag) string {
	f := familiar(t)
	return f[:len(f)-len(t.TagStr())-1]
}

// archiveEpoch is the mtime of every archive entry, so the bytes do not
// depend on when fix ran.
var archiveEpoch = time.Unix(0, 0).UTC()

// archiveWriter writes the entries of a docker archive.
type archiveWriter struct {
	tw   *tar.Writer
	root *os.Root
	seen map[v1.Hash]bool
}

func (a *archiveWriter) dir(n string) error {
	return a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755, ModTime: archiveEpoch, Format: tar.FormatPAX})
}

func (a *archiveWriter) file(n string, size int64) error {
	return a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: size, ModTime: archiveEpoch, Format: tar.FormatPAX})
}

// blob copies a staged blob once, checking its size; present is false for
// a blob the staging layout does not hold (a foreign layer).
func (a *archiveWriter) blob(h v1.Hash, size int64) (present bool, err error) {
	if a.seen[h] {
		return true, nil
	}
	src, err := a.root.Open(blobName(h))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	fi, err := src.Stat()
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return false, fmt.Errorf("staged blob %s: %d bytes, descriptor says %d", h, fi.Size(), size)
	}
	if err := a.file(blobName(h), size); err != nil {
		return false, err
	}
	if _, err := io.Copy(a.tw, src); err != nil {
		return false, err
	}
	a.seen[h] = true
	return true, nil
}

func (a *archiveWriter) json(n string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := a.file(n, int64(len(b))); err != nil {
		return err
	}
	_, err = a.tw.Write(b)
	return err
}
