package squash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze/source"
)

// rewriter rewrites descriptors of a source layout: a replaced manifest
// becomes its new descriptor, and an index on the way to one is written
// again as a new blob (the same JSON but for the digests: annotations,
// order and the other entries kept). With copyAll, everything an
// untouched descriptor reaches (indexes, manifests, configs, layers) is
// copied from the source into the sink, children before parents, each
// checked against its digest.
type rewriter struct {
	src     *os.Root
	sink    *layoutSink
	replace map[v1.Hash]v1.Descriptor
	copyAll bool
	// done holds each index already rewritten: its new descriptor, or nil
	// when it is unchanged. Indexes form a DAG that the image's author may
	// make list one index hundreds of times per level; each is rewritten
	// once, so a rewrite costs the layout's size, not its paths.
	done map[v1.Hash]*v1.Descriptor
}

func (rw *rewriter) readJSON(d v1.Descriptor) ([]byte, error) {
	if d.Digest.Algorithm != "sha256" || d.Size < 0 || d.Size > maxJSONBlob {
		return nil, fmt.Errorf("descriptor %s (%d bytes): not a blob layerlint reads", d.Digest, d.Size)
	}
	f, err := rw.src.Open(path.Join("blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxJSONBlob+1))
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(b)); h != d.Digest || int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: content is %s (%d bytes): %w", d.Digest, h, len(b), source.ErrDigestMismatch)
	}
	return b, nil
}

// rewrite returns d with replaced digests, writing new index blobs for the
// indexes on the way.
func (rw *rewriter) rewrite(d map[string]json.RawMessage, depth int) (map[string]json.RawMessage, bool, error) {
	var desc v1.Descriptor
	raw, err := marshal(d)
	if err != nil {
		return nil, false, err
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, false, fmt.Errorf("reading descriptor: %w", err)
	}
	if nd, ok := rw.replace[desc.Digest]; ok {
		if nd.Digest == desc.Digest && nd.Size == desc.Size && nd.MediaType == desc.MediaType {
			// Fixed into the same bytes (a no-op fix): the entry, and the
			// index that lists it, stay as they were, byte for byte.
			return d, false, nil
		}
		return withDigest(d, nd)
	}
	if !desc.MediaType.IsIndex() || depth > 8 {
		return d, false, rw.copyTree(desc, depth)
	}
	if nd, ok := rw.done[desc.Digest]; ok {
		if nd == nil {
			return d, false, nil
		}
		return withDigest(d, *nd)
	}
	b, err := rw.readJSON(desc)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !rw.copyAll {
			return d, false, nil // an index whose blob is absent leads nowhere
		}
		return nil, false, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var idx map[string]json.RawMessage
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, false, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var kids []map[string]json.RawMessage
	if err := json.Unmarshal(idx["manifests"], &kids); err != nil {
		return nil, false, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	changed := false
	for i, k := range kids {
		nk, c, err := rw.rewrite(k, depth+1)
		if err != nil {
			return nil, false, err
		}
		kids[i], changed = nk, changed || c
	}
	if changed {
		// An attestation of a replaced manifest attests the old image: it
		// goes with it (kept under "-prefix" or collected), so that the
		// new index names no manifest it does not hold.
		kids = slices.DeleteFunc(kids, rw.attestsReplaced)
	}
	if !changed {
		if err := rw.putRaw(desc.Digest, b); err != nil {
			return nil, false, err
		}
		rw.remember(desc.Digest, nil)
		return d, false, nil
	}
	if idx["manifests"], err = marshal(kids); err != nil {
		return nil, false, err
	}
	nb, err := marshal(idx)
	if err != nil {
		return nil, false, err
	}
	h, err := putBlob(rw.sink, nb)
	if err != nil {
		return nil, false, fmt.Errorf("writing index: %w", err)
	}
	nd := v1.Descriptor{MediaType: desc.MediaType, Digest: h, Size: int64(len(nb))}
	rw.remember(desc.Digest, &nd)
	return withDigest(d, nd)
}

func (rw *rewriter) remember(h v1.Hash, nd *v1.Descriptor) {
	if rw.done == nil {
		rw.done = map[v1.Hash]*v1.Descriptor{}
	}
	rw.done[h] = nd
}

func (rw *rewriter) putRaw(h v1.Hash, b []byte) error {
	if !rw.copyAll {
		return nil
	}
	_, err := putBlob(rw.sink, b)
	return err
}

// copyTree copies, with copyAll, an untouched descriptor and what it
// reaches. A layer blob absent from the source (a foreign layer) stays
// absent.
func (rw *rewriter) copyTree(d v1.Descriptor, depth int) error {
	if !rw.copyAll || rw.sink.Has(d.Digest) {
		return nil // children are written before their parent
	}
	switch {
	case d.MediaType.IsIndex():
		_, _, err := rw.rewrite(map[string]json.RawMessage{
			"mediaType": mustJSON(d.MediaType), "digest": mustJSON(d.Digest.String()), "size": mustJSON(d.Size),
		}, depth)
		return err
	case d.MediaType.IsImage():
		b, err := rw.readJSON(d)
		if err != nil {
			return fmt.Errorf("copying manifest %s: %w", d.Digest, err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("copying manifest %s: %w", d.Digest, err)
		}
		for _, c := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if err := rw.copyBlob(c); err != nil {
				return fmt.Errorf("copying manifest %s: %w", d.Digest, err)
			}
		}
		_, err = putBlob(rw.sink, b)
		return err
	}
	return rw.copyBlob(d)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) //nolint:errchkjson // strings and numbers
	return b
}

// copyBlob streams one blob from the source into the sink, checking its
// digest and size.
func (rw *rewriter) copyBlob(d v1.Descriptor) (err error) {
	if rw.sink.Has(d.Digest) {
		return nil
	}
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: unsupported digest algorithm", d.Digest)
	}
	f, err := rw.src.Open(path.Join("blobs", d.Digest.Algorithm, d.Digest.Hex))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("blob %s: not a regular file: %w", d.Digest, err)
	}
	bw, err := rw.sink.Create()
	if err != nil {
		return err
	}
	dg := newDigester(bw)
	if _, err := io.Copy(dg, f); err != nil {
		return errors.Join(fmt.Errorf("copying blob %s: %w", d.Digest, err), bw.Abort())
	}
	if got := dg.digest(); got != d.Digest || dg.n != d.Size {
		return errors.Join(fmt.Errorf("blob %s: content is %s (%d bytes): %w", d.Digest, got, dg.n, source.ErrDigestMismatch), bw.Abort())
	}
	return bw.Commit(d.Digest)
}

// keepOthers writes, for an output layout read from an OCI layout, the
// source's selected top-level index again with the rewritten manifests in
// place of the old ones and every other entry (other platforms,
// attestations) copied as it was. ok is false when the selection is not
// an index of that layout: the caller then lists the rewritten images
// itself.
func keepOthers(sink *layoutSink, ref source.Reference, replace map[v1.Hash]v1.Descriptor) (v1.Descriptor, bool, error) {
	if ref.Format != source.FormatOCILayout && ref.Format != source.FormatAuto {
		return v1.Descriptor{}, false, nil
	}
	root, err := os.OpenRoot(ref.Path)
	if err != nil {
		return v1.Descriptor{}, false, nil //nolint:nilerr // not a layout directory: no index to keep
	}
	defer root.Close() //nolint:errcheck // read-only
	raw, err := root.ReadFile("index.json")
	if err != nil {
		return v1.Descriptor{}, false, nil //nolint:nilerr // a docker archive or no layout
	}
	var top struct {
		Manifests []map[string]json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("reading %s/index.json: %w", ref.Path, err)
	}
	var sel map[string]json.RawMessage
	for _, d := range top.Manifests {
		var desc v1.Descriptor
		b, _ := json.Marshal(d) //nolint:errchkjson // raw JSON re-encodes
		if json.Unmarshal(b, &desc) != nil {
			continue
		}
		switch {
		case ref.Digest != (v1.Hash{}):
			if desc.Digest == ref.Digest {
				sel = d
			}
		case ref.Tag != "":
			if refOf(d) == ref.Tag {
				sel = d
			}
		case len(top.Manifests) == 1:
			sel = d
		}
		if sel != nil {
			if !desc.MediaType.IsIndex() {
				return v1.Descriptor{}, false, nil
			}
			break
		}
	}
	if sel == nil {
		return v1.Descriptor{}, false, nil
	}
	rw := &rewriter{src: root, sink: sink, replace: replace, copyAll: true}
	nd, _, err := rw.rewrite(sel, 0)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	b, err := marshal(nd)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	var out v1.Descriptor
	if err := json.Unmarshal(b, &out); err != nil {
		return v1.Descriptor{}, false, err
	}
	return out, true, nil
}

func withDigest(d map[string]json.RawMessage, nd v1.Descriptor) (map[string]json.RawMessage, bool, error) {
	out := cloneEntry(d)
	var err error
	if out["digest"], err = marshal(nd.Digest.String()); err != nil {
		return nil, false, err
	}
	if out["size"], err = marshal(nd.Size); err != nil {
		return nil, false, err
	}
	if out["mediaType"], err = marshal(nd.MediaType); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// maxJSONBlob bounds the index and manifest blobs read, as the reader does.
const maxJSONBlob = 8 << 20

// attestsReplaced reports whether the descriptor names, by
// vnd.docker.reference.digest, a manifest that this rewrite replaces.
func (rw *rewriter) attestsReplaced(d map[string]json.RawMessage) bool {
	var ann map[string]string
	if json.Unmarshal(d["annotations"], &ann) != nil {
		return false
	}
	h, err := v1.NewHash(ann[annotationRefDigest])
	if err != nil {
		return false
	}
	_, ok := rw.replace[h]
	return ok
}
