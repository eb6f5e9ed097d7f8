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
	img, err := readStagedImage(root)
	if err != nil {
		return err
	}
	entry, repos, ociEntries, err := archiveIndexes(img, tags)
	if err != nil {
		return err
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
	werr := aw.entries(img, entry, repos, ociEntries)
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

// stagedImage is the one image of a staged layout: its index entry, its
// manifest and its config.
type stagedImage struct {
	desc     v1.Descriptor
	manifest v1.Manifest
	config   v1.ConfigFile
}

// readStagedImage reads the one image of the staged layout under root.
func readStagedImage(root *os.Root) (stagedImage, error) {
	var img stagedImage
	rawIdx, err := root.ReadFile("index.json")
	if err != nil {
		return img, fmt.Errorf("reading staged layout: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(rawIdx, &idx); err != nil {
		return img, fmt.Errorf("reading staged layout: %w", err)
	}
	if len(idx.Manifests) != 1 || !idx.Manifests[0].MediaType.IsImage() {
		return img, planErrorf(OptionPlatform, "a docker archive holds one image per platform")
	}
	img.desc = idx.Manifests[0]
	md := img.desc
	rawM, err := root.ReadFile(path.Join("blobs", md.Digest.Algorithm, md.Digest.Hex))
	if err != nil {
		return img, fmt.Errorf("reading staged manifest: %w", err)
	}
	if err := json.Unmarshal(rawM, &img.manifest); err != nil {
		return img, fmt.Errorf("reading staged manifest: %w", err)
	}
	m := &img.manifest
	rawCfg, err := root.ReadFile(path.Join("blobs", m.Config.Digest.Algorithm, m.Config.Digest.Hex))
	if err != nil {
		return img, fmt.Errorf("reading staged config: %w", err)
	}
	if err := json.Unmarshal(rawCfg, &img.config); err != nil {
		return img, fmt.Errorf("reading staged config: %w", err)
	}
	if len(img.config.RootFS.DiffIDs) != len(m.Layers) {
		return img, fmt.Errorf("staged image: %d layers, %d diff_ids", len(m.Layers), len(img.config.RootFS.DiffIDs))
	}
	return img, nil
}

// archiveIndexes builds the archive's manifest.json entry (without its
// layers), its repositories file and its index.json entries, one per tag.
func archiveIndexes(img stagedImage, tags []string) (archiveManifest, map[string]map[string]string, []v1.Descriptor, error) {
	m, md := img.manifest, img.desc
	entry := archiveManifest{Config: blobName(m.Config.Digest), RepoTags: tags}
	repos := map[string]map[string]string{}
	var ociEntries []v1.Descriptor
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return entry, nil, nil, fmt.Errorf("tag %q for the docker archive: %w: %w", t, err, ErrBadPlan)
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
	return entry, repos, ociEntries, nil
}

// entries writes every entry of the archive in its fixed order: the
// blobs (layers, config, manifest), then the index files. It completes
// entry with the layers.
func (a *archiveWriter) entries(img stagedImage, entry archiveManifest, repos map[string]map[string]string, ociEntries []v1.Descriptor) error {
	m, md := img.manifest, img.desc
	if err := errors.Join(a.dir("blobs/"), a.dir("blobs/sha256/")); err != nil {
		return err
	}
	for i, l := range m.Layers {
		present, err := a.blob(l.Digest, l.Size)
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
		}
		if !present {
			// A non-distributable layer the image never held: docker
			// records where it comes from.
			if entry.LayerSources == nil {
				entry.LayerSources = map[v1.Hash]v1.Descriptor{}
			}
			entry.LayerSources[img.config.RootFS.DiffIDs[i]] = l
		}
		entry.Layers = append(entry.Layers, blobName(l.Digest))
	}
	if _, err := a.blob(m.Config.Digest, m.Config.Size); err != nil {
		return err
	}
	if _, err := a.blob(md.Digest, md.Size); err != nil {
		return err
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
		if err := a.json(file.name, file.v); err != nil {
			return err
		}
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
