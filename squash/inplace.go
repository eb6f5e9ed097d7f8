package squash

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// errCollecting marks a failure of --gc after index.json changed.
var errCollecting = errors.New("removing unused blobs")

// inPlace is an in-place update of an OCI layout: new blobs are written
// first, checked, and only then does index.json change, in one rename.
type inPlace struct {
	fs   fsys
	Dir  string
	Sink *layoutSink
	// GC removes blobs that nothing in index.json reaches any more;
	// otherwise the old image stays listed under "<tag>-prefix".
	GC bool
}

// Swap replaces, in index.json, every descriptor of an old manifest (or
// of an index that leads to one) by its rewritten one. Nested indexes on
// the way are rewritten as new blobs. Unless GC, the old top-level
// descriptor is kept under the tag "<tag>-prefix".
func (ip *inPlace) Swap(replace map[v1.Hash]v1.Descriptor) (kept []string, err error) {
	raw, err := os.ReadFile(filepath.Join(ip.Dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("reading %s/index.json: %w", ip.Dir, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("reading %s/index.json: %w", ip.Dir, err)
	}
	var descs []map[string]json.RawMessage
	if err := json.Unmarshal(top["manifests"], &descs); err != nil {
		return nil, fmt.Errorf("reading %s/index.json manifests: %w", ip.Dir, err)
	}
	root, err := os.OpenRoot(ip.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ip.Dir, err)
	}
	defer root.Close() //nolint:errcheck // read through it only
	rw := &rewriter{src: root, sink: ip.Sink, replace: replace}
	var out []map[string]json.RawMessage
	var old []map[string]json.RawMessage
	for _, d := range descs {
		nd, changed, err := rw.rewrite(d, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, nd)
		if changed && !ip.GC {
			old = append(old, d)
		}
	}
	if ip.GC {
		// Without the old image, its attestations listed beside it would
		// name a manifest that gc removes: they go with it.
		out = slices.DeleteFunc(out, rw.attestsReplaced)
	}
	for _, d := range old {
		ann := map[string]string{}
		if raw, ok := d["annotations"]; ok {
			if err := json.Unmarshal(raw, &ann); err != nil {
				return nil, fmt.Errorf("reading index.json annotations: %w", err)
			}
		}
		tag := ann[specs.AnnotationRefName]
		if tag == "" {
			tag = "image"
		}
		keep := tag + "-prefix"
		ann[specs.AnnotationRefName] = keep
		kd := cloneEntry(d)
		if kd["annotations"], err = marshal(ann); err != nil {
			return nil, err
		}
		// A previous run's "-prefix" entry makes way for this one.
		out = slices.DeleteFunc(out, func(x map[string]json.RawMessage) bool { return refOf(x) == keep })
		out = append(out, kd)
		kept = append(kept, keep)
	}
	if top["manifests"], err = marshal(out); err != nil {
		return nil, err
	}
	b, err := marshal(top)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(ip.fs, ip.Dir, "index.json", b); err != nil {
		return nil, err
	}
	if ip.GC {
		if err := ip.collect(); err != nil {
			return kept, fmt.Errorf("index.json updated; %w: %w", errCollecting, err)
		}
	}
	return kept, nil
}

func refOf(d map[string]json.RawMessage) string {
	var ann map[string]string
	_ = json.Unmarshal(d["annotations"], &ann) // no annotations, no ref
	return ann[specs.AnnotationRefName]
}

// stageForVerify makes a throw-away layout under dir whose index.json
// lists root, its blobs hard links to those of the layout at dir, so that
// an in-place rewrite can be read and checked before index.json changes.
// The caller removes the returned directory.
func stageForVerify(fsys fsys, dir string, root v1.Descriptor, results []*Result) (string, error) {
	stage, err := fsys.MkdirTemp(dir, tempPrefix+"verify-")
	if err != nil {
		return "", fmt.Errorf("staging verification in %s: %w", dir, err)
	}
	fail := func(err error) (string, error) { return "", errors.Join(err, removeAll(fsys, stage)) }
	if err := fsys.MkdirAll(filepath.Join(stage, "blobs", "sha256"), 0o755); err != nil {
		return fail(err)
	}
	link := func(h v1.Hash) error {
		dst := filepath.Join(stage, "blobs", h.Algorithm, h.Hex)
		if _, err := os.Lstat(dst); err == nil {
			return nil
		}
		return fsys.Link(filepath.Join(dir, "blobs", h.Algorithm, h.Hex), dst)
	}
	hs := []v1.Hash{root.Digest}
	for _, r := range results {
		hs = append(hs, r.ManifestDigest)
		var m v1.Manifest
		if err := json.Unmarshal(r.Manifest, &m); err != nil {
			return fail(err)
		}
		hs = append(hs, m.Config.Digest)
		for _, l := range m.Layers {
			if _, err := os.Lstat(filepath.Join(dir, "blobs", l.Digest.Algorithm, l.Digest.Hex)); err == nil {
				hs = append(hs, l.Digest)
			}
		}
	}
	for _, h := range hs {
		if err := link(h); err != nil {
			return fail(fmt.Errorf("staging blob %s: %w", h, err))
		}
	}
	root.Annotations = map[string]string{specs.AnnotationRefName: "verify"}
	if err := writeLayoutIndex(fsys, stage, []v1.Descriptor{root}); err != nil {
		return fail(err)
	}
	return stage, nil
}
