package source

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dockerReader reads `docker save` archives: the classic form, whose
// layers are <id>/layer.tar (possibly symlinks to an identical earlier
// layer), and the Docker 25+ form, which is also an OCI layout and whose
// manifest.json points into blobs/.
type dockerReader struct {
	st     store
	verify bool
	origin string
}

// images opens the image of manifest.json that ref selects.
func (dr *dockerReader) images(ref Reference, spec platformSpec) ([]*Image, error) {
	raw, err := readFile(dr.st, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("reading manifest.json of %s: %w", dr.origin, err)
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parsing manifest.json of %s: %w: %w", dr.origin, ErrInvalid, err)
	}
	entry, tag, err := dr.selectEntry(m, ref)
	if err != nil {
		return nil, err
	}
	img, err := dr.load(entry, tag)
	if err != nil {
		return nil, err
	}
	if spec.conflicts(img.Platform) {
		return nil, fmt.Errorf("%s: image %s is %s, not the requested %s: %w",
			dr.origin, entry.Config, platformString(img.Platform), spec.want.String(), ErrNoMatchingPlatform)
	}
	return []*Image{img}, nil
}

// sameRepoTag compares repo:tag names, also in their normalised forms
// ("alpine" is "index.docker.io/library/alpine:latest").
func sameRepoTag(a, b string) bool {
	if a == b {
		return true
	}
	ta, err := name.NewTag(a, name.WeakValidation)
	if err != nil {
		return false
	}
	tb, err := name.NewTag(b, name.WeakValidation)
	if err != nil {
		return false
	}
	return ta.Name() == tb.Name()
}

func (dr *dockerReader) selectEntry(m tarball.Manifest, ref Reference) (tarball.Descriptor, string, error) {
	if len(m) == 0 {
		return tarball.Descriptor{}, "", fmt.Errorf("manifest.json of %s lists no images: %w", dr.origin, ErrInvalid)
	}
	choices := func() string {
		var parts []string
		for i, e := range m {
			if i == maxListed {
				parts = append(parts, fmt.Sprintf("and %d more", len(m)-i))
				break
			}
			tags := strings.Join(e.RepoTags, " ")
			if tags == "" {
				tags = "<untagged>"
			}
			parts = append(parts, strconv.Itoa(i)+": "+tags)
		}
		return strings.Join(parts, ", ")
	}
	switch {
	case ref.Index >= 0:
		if ref.Index >= len(m) {
			return tarball.Descriptor{}, "", fmt.Errorf("image %d of %s (have %s): %w", ref.Index, dr.origin, choices(), ErrNotFound)
		}
		e := m[ref.Index]
		return e, firstTag(e), nil
	case ref.Tag != "":
		for _, e := range m {
			for _, t := range e.RepoTags {
				if sameRepoTag(t, ref.Tag) {
					return e, t, nil
				}
			}
		}
		return tarball.Descriptor{}, "", fmt.Errorf("tag %q in %s (have %s): %w", ref.Tag, dr.origin, choices(), ErrNotFound)
	case len(m) == 1:
		return m[0], firstTag(m[0]), nil
	}
	return tarball.Descriptor{}, "", fmt.Errorf("%s holds %d images, select one by repo:tag or index: %s: %w",
		dr.origin, len(m), choices(), ErrAmbiguous)
}

func firstTag(e tarball.Descriptor) string {
	if len(e.RepoTags) > 0 {
		return e.RepoTags[0]
	}
	return ""
}

// digestFromName recovers the digest a file name claims: blobs/ALG/HEX, or
// HEX.json / HEX.tar(.gz) as docker and ggcr name configs and layers. A
// classic <id>/layer.tar says nothing: the id is not a content digest.
func digestFromName(p string) (v1.Hash, bool) {
	dir, base := path.Split(cleanName(p))
	if alg := path.Base(dir); path.Dir(strings.TrimSuffix(dir, "/")) == "blobs" {
		if h, err := v1.NewHash(alg + ":" + base); err == nil {
			return h, true
		}
	}
	for _, ext := range []string{".json", ".tar.gz", ".tar", ".tgz"} {
		if stem, ok := strings.CutSuffix(base, ext); ok {
			if h, err := v1.NewHash("sha256:" + stem); err == nil {
				return h, true
			}
		}
	}
	return v1.Hash{}, false
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// load builds the Image of one manifest.json entry.
func (dr *dockerReader) load(e tarball.Descriptor, tag string) (*Image, error) {
	what := "image " + e.Config
	if tag != "" {
		what = "image " + tag
	}
	rawCfg, err := readFile(dr.st, e.Config)
	if err != nil {
		return nil, fmt.Errorf("reading config %s of %s in %s: %w", e.Config, what, dr.origin, err)
	}
	cfgDigest := sha256Hash(rawCfg)
	if want, ok := digestFromName(e.Config); ok && dr.verify {
		got, err := digestOf(want, rawCfg)
		if err != nil {
			return nil, err
		}
		if !sameHash(got, want) {
			return nil, fmt.Errorf("config %s of %s in %s: content has digest %s: %w", e.Config, what, dr.origin, got, ErrDigestMismatch)
		}
	}
	cfg, err := parseConfig(rawCfg)
	if err != nil {
		return nil, fmt.Errorf("config %s of %s in %s: %w", e.Config, what, dr.origin, err)
	}
	if len(e.Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%s in %s: %d layers but config has %d diff_ids: %w",
			what, dr.origin, len(e.Layers), len(cfg.RootFS.DiffIDs), ErrInvalid)
	}

	// Docker 25+: the OCI layout in the same archive has the real manifest
	// (digest, media types, annotations) of this config.
	if img, err := dr.fromLayout(cfgDigest); err != nil || img != nil {
		if img != nil {
			img.Ref, img.Name = tag, tag
		}
		return img, err
	}

	img := &Image{
		Ref:               tag,
		Name:              tag,
		Format:            FormatDockerArchive,
		ManifestMediaType: types.DockerManifestSchema2,
		Config:            cfg,
		RawConfig:         rawCfg,
		ConfigDigest:      cfgDigest,
		Platform:          configPlatform(cfg),
	}
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawCfg)), Digest: cfgDigest},
	}
	for i, p := range e.Layers {
		l, err := dr.layer(i, p, cfg.RootFS.DiffIDs[i], e.LayerSources, what)
		if err != nil {
			return nil, err
		}
		img.Layers = append(img.Layers, l)
		m.Layers = append(m.Layers, v1.Descriptor{
			MediaType: l.MediaType, Size: l.Size, Digest: l.Digest, URLs: l.URLs, Annotations: l.Annotations,
		})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("synthesising manifest of %s in %s: %w", what, dr.origin, err)
	}
	img.Manifest, img.RawManifest, img.ManifestDigest = m, raw, sha256Hash(raw)
	return img, nil
}

// fromLayout finds the manifest whose config is cfgDigest in the OCI
// layout of a Docker 25+ archive. It returns nil, nil when there is no
// layout or no such manifest, so the classic path takes over.
func (dr *dockerReader) fromLayout(cfgDigest v1.Hash) (*Image, error) {
	if !dr.st.has("index.json") || !dr.st.has("oci-layout") {
		return nil, nil
	}
	lr := &layoutReader{st: dr.st, verify: dr.verify, origin: dr.origin, format: FormatDockerArchive}
	idx, err := lr.readIndexJSON()
	if err != nil {
		return nil, nil //nolint:nilerr // a broken side layout is ignored; manifest.json is authoritative
	}
	var all []node
	for _, d := range idx.Manifests {
		n := node{desc: d, parent: "index.json", parentAnn: idx.Annotations, name: refName(d.Annotations)}
		if err := lr.leaves(n, 1, map[v1.Hash]bool{}, &all); err != nil {
			return nil, err
		}
	}
	tried := map[v1.Hash]bool{}
	for _, n := range all {
		// The side layout is the archive author's: it may list one
		// manifest thousands of times, each read once.
		if tried[n.desc.Digest] {
			continue
		}
		tried[n.desc.Digest] = true
		// Blobs of other platforms are often absent from a docker save.
		img, err := lr.load(n, false)
		if err != nil || img.ConfigDigest != cfgDigest {
			continue
		}
		return lr.load(n, true)
	}
	return nil, nil
}

// layer describes layer i, stored at p, of a manifest.json entry.
func (dr *dockerReader) layer(i int, p string, diffID v1.Hash, sources map[v1.Hash]v1.Descriptor, what string) (*Layer, error) {
	l := &Layer{Index: i, DiffID: diffID, st: dr.st, blob: p, manifest: what}
	src, foreign := sources[diffID]
	if foreign {
		if err := checkDescriptor(src, maxBlobSize); err != nil {
			return nil, fmt.Errorf("layer %d source of %s in %s: %w", i, what, dr.origin, err)
		}
		l.Digest, l.MediaType, l.Size, l.URLs, l.Annotations = src.Digest, src.MediaType, src.Size, src.URLs, src.Annotations
	}
	size, err := dr.st.stat(p)
	switch {
	case errors.Is(err, ErrNotFound) && foreign:
		l.Missing = true
		l.MissingReason = fmt.Sprintf("non-distributable layer %s is not in the archive (urls: %s)", src.Digest, strings.Join(src.URLs, " "))
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("layer %d (%s, diff_id %s) needed by %s in %s: %w", i, p, diffID, what, dr.origin, err)
	case foreign:
		return l, nil
	}
	l.Size = size
	var magic [6]byte
	n, err := dr.st.readAt(p, magic[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading layer %d (%s) of %s in %s: %w", i, p, what, dr.origin, err)
	}
	comp, err := sniff(magic[:n])
	if err != nil {
		return nil, fmt.Errorf("layer %d (%s) of %s in %s: %w", i, p, what, dr.origin, err)
	}
	switch comp {
	case CompressionNone, CompressionUnknown:
		// An uncompressed layer is its own diff: digest = diff_id.
		l.MediaType, l.Digest = types.DockerUncompressedLayer, diffID
		return l, nil
	case CompressionGzip:
		l.MediaType = types.DockerLayer
	case CompressionZstd:
		l.MediaType = types.OCILayerZStd
	}
	if h, ok := digestFromName(p); ok {
		l.Digest = h
		return l, nil
	}
	// A compressed layer under a name that says nothing: its digest needs
	// one extra read of the blob, here, once.
	if l.Digest, err = dr.hashFile(p); err != nil {
		return nil, fmt.Errorf("hashing layer %d (%s) of %s in %s: %w", i, p, what, dr.origin, err)
	}
	return l, nil
}

func (dr *dockerReader) hashFile(p string) (h v1.Hash, err error) {
	rc, _, err := dr.st.open(p)
	if err != nil {
		return v1.Hash{}, err
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	d := sha256.New()
	if _, err := io.Copy(d, rc); err != nil {
		return v1.Hash{}, err
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(d.Sum(nil))}, nil
}
