package squash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/textfmt"
)

// manifestLayers returns the raw layer descriptors of a manifest, so that
// kept layers keep every field (annotations, URLs, unknown keys).
func manifestLayers(raw []byte) ([]json.RawMessage, error) {
	var m struct {
		Layers []json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return m.Layers, nil
}

// marshal encodes without HTML escaping, so that strings such as "<none>"
// keep their bytes.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// rewriteManifest copies the raw manifest and changes only its config
// descriptor's digest and size and its layers.
func rewriteManifest(raw []byte, cfg v1.Hash, cfgSize int64, layers []LayerResult, toOCI bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(m["config"], &c); err != nil {
		return nil, fmt.Errorf("reading manifest config descriptor: %w", err)
	}
	var err error
	if toOCI {
		if m["mediaType"], err = marshal(types.OCIManifestSchema1); err != nil {
			return nil, err
		}
		if c["mediaType"], err = marshal(types.OCIConfigJSON); err != nil {
			return nil, err
		}
	}
	if c["digest"], err = marshal(cfg.String()); err != nil {
		return nil, err
	}
	if c["size"], err = marshal(cfgSize); err != nil {
		return nil, err
	}
	if m["config"], err = marshal(c); err != nil {
		return nil, err
	}
	ls := make([]json.RawMessage, len(layers))
	for i, l := range layers {
		ls[i] = l.Descriptor
	}
	if m["layers"], err = marshal(ls); err != nil {
		return nil, err
	}
	return marshal(m)
}

// rewriteConfig copies the raw config and changes only rootfs.diff_ids
// and history: merged layers' entries stay, marked empty_layer, followed
// by one entry describing the merge. Empty entries (ENV, LABEL…) travel
// with the layer entry that follows them.
func rewriteConfig(img *source.Image, layers []LayerResult, plan *Plan) ([]byte, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(img.RawConfig, &cfg); err != nil {
		return nil, fmt.Errorf("reading config %s: %w", img.ConfigDigest, err)
	}
	var rootfs map[string]json.RawMessage
	if raw, ok := cfg["rootfs"]; ok {
		if err := json.Unmarshal(raw, &rootfs); err != nil {
			return nil, fmt.Errorf("reading config %s rootfs: %w", img.ConfigDigest, err)
		}
	} else {
		rootfs = map[string]json.RawMessage{"type": json.RawMessage(`"layers"`)}
	}
	ids := make([]string, len(layers))
	for i, l := range layers {
		ids[i] = l.DiffID.String()
	}
	var err error
	if rootfs["diff_ids"], err = marshal(ids); err != nil {
		return nil, err
	}
	if cfg["rootfs"], err = marshal(rootfs); err != nil {
		return nil, err
	}
	if raw, ok := cfg["history"]; ok && plan.Changes() {
		h, err := rewriteHistory(raw, len(img.Layers), layers)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", img.ConfigDigest, err)
		}
		cfg["history"] = h
	}
	return marshal(cfg)
}

type historyEntry = map[string]json.RawMessage

func rewriteHistory(raw json.RawMessage, nLayers int, layers []LayerResult) (json.RawMessage, error) {
	var hist []historyEntry
	if err := json.Unmarshal(raw, &hist); err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	// own[i] holds layer i's entry with the empty entries before it.
	own := make([][]historyEntry, nLayers)
	var pending []historyEntry
	li := 0
	for _, h := range hist {
		if isEmptyLayer(h) {
			pending = append(pending, h)
			continue
		}
		if li >= nLayers {
			return nil, fmt.Errorf("history has more layer entries than the %d layers: %w", nLayers, ErrBadPlan)
		}
		own[li] = append(pending, h)
		pending = nil
		li++
	}
	if li != nLayers {
		return nil, fmt.Errorf("history has %d layer entries for %d layers: %w", li, nLayers, ErrBadPlan)
	}
	var out []historyEntry
	for _, l := range layers {
		if len(l.Group.Layers) == 1 {
			out = append(out, own[l.Group.Layers[0]]...)
			continue
		}
		merged, err := mergedHistory(l.Group.Layers, own)
		if err != nil {
			return nil, err
		}
		out = append(out, merged...)
	}
	out = append(out, pending...)
	return marshal(out)
}

// mergedHistory is the history of a merged layer: the entries of its
// source layers, kept but marked empty_layer, then one entry for the
// merged layer, dated by the latest of them and naming their commands.
func mergedHistory(group []int, own [][]historyEntry) ([]historyEntry, error) {
	var out []historyEntry
	var latest time.Time
	var by []string
	for _, src := range group {
		for _, h := range own[src] {
			if !isEmptyLayer(h) {
				var t time.Time
				if err := json.Unmarshal(h["created"], &t); err == nil && t.After(latest) {
					latest = t
				}
				var cb string
				_ = json.Unmarshal(h["created_by"], &cb) // a missing created_by reads as ""
				by = append(by, cb)
				h = cloneEntry(h)
				h["empty_layer"] = json.RawMessage("true")
			}
			out = append(out, h)
		}
	}
	e := historyEntry{}
	var err error
	if !latest.IsZero() {
		if e["created"], err = marshal(latest.UTC()); err != nil {
			return nil, err
		}
	}
	if e["created_by"], err = marshal(fmt.Sprintf("layerlint fix: squashed layers %s", textfmt.JoinInts(group))); err != nil {
		return nil, err
	}
	if e["comment"], err = marshal("merged: " + strings.Join(by, " && ")); err != nil {
		return nil, err
	}
	return append(out, e), nil
}

func isEmptyLayer(h historyEntry) bool {
	var b bool
	if raw, ok := h["empty_layer"]; ok {
		_ = json.Unmarshal(raw, &b) // anything but true is false
	}
	return b
}

func cloneEntry(h historyEntry) historyEntry {
	c := make(historyEntry, len(h)+1)
	for k, v := range h {
		c[k] = v
	}
	return c
}

// unchanged reports a build that changes nothing: every layer kept as it
// was, in its place, and no media type converted.
func unchanged(plan *Plan, layers []LayerResult, converted bool) bool {
	if converted || plan.Changes() {
		return false
	}
	for _, l := range layers {
		if !l.Kept {
			return false
		}
	}
	return true
}

// ociLayerDescriptor gives a kept Docker layer its OCI media type, in its
// raw descriptor too (the other fields stay as they were).
func ociLayerDescriptor(mt types.MediaType, raw json.RawMessage) (types.MediaType, json.RawMessage, error) {
	oci := map[types.MediaType]types.MediaType{
		types.DockerLayer:             types.OCILayer,
		types.DockerUncompressedLayer: types.OCIUncompressedLayer,
		types.DockerForeignLayer:      types.OCIRestrictedLayer,
	}[mt]
	if oci == "" {
		return mt, raw, nil
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(raw, &d); err != nil {
		return "", nil, fmt.Errorf("reading layer descriptor: %w", err)
	}
	var err error
	if d["mediaType"], err = marshal(oci); err != nil {
		return "", nil, err
	}
	out, err := marshal(d)
	return oci, out, err
}
