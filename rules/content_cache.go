package rules

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/overlay"
)

var _ analyze.Scanner = (*ContentScan)(nil)

// contentScanVersion names what a layer's scan results mean: bump it
// whenever the same layer could give other results (a pattern, a kind, the
// window or the file size limit changes), so that results a cache kept
// from another version are never loaded.
const contentScanVersion = 1

// ScanID implements analyze.Scanner.
func (c *ContentScan) ScanID() string {
	return fmt.Sprintf("layerlint-secrets/%d window=%d max=%d", contentScanVersion, ContentScanWindow, ContentScanMaxFileBytes)
}

// errScanResults reports saved scan results that do not fit their layer.
var errScanResults = errors.New("content scan results do not fit the layer")

// SaveLayer implements analyze.Scanner: the layer's matches, sorted by
// path, kind and size, each as its path (length and bytes), its kind (one
// byte) and its size (uvarint), after their count.
func (c *ContentScan) SaveLayer(layer int) []byte {
	c.mu.Lock()
	var ms []ContentMatch
	for m := range c.matches {
		if m.Layer == layer {
			ms = append(ms, m)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(ms, compareSaved)
	b := binary.AppendUvarint(nil, uint64(len(ms)))
	for _, m := range ms {
		b = binary.AppendUvarint(b, uint64(len(m.Path)))
		b = append(b, m.Path...)
		b = append(b, byte(m.Kind))
		b = binary.AppendUvarint(b, uint64(m.Size)) //nolint:gosec // a file size, positive
	}
	return b
}

func compareSaved(a, b ContentMatch) int {
	return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Size, b.Size))
}

// LoadLayer implements analyze.Scanner. Results from a shared cache are
// untrusted: each match must name a kind the scanner knows and a regular
// file of the layer, of its size and small enough to have been scanned, in
// SaveLayer's order, with nothing left over; anything else fails and
// records nothing.
func (c *ContentScan) LoadLayer(layer int, cs *overlay.Changeset, data []byte) error {
	ms, err := parseSaved(layer, data)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		want := make(map[string][]int64, len(ms))
		for _, m := range ms {
			want[m.Path] = append(want[m.Path], m.Size)
		}
		found := 0
		for _, e := range cs.All() {
			if sizes, ok := want[e.Path]; ok && e.Kind == overlay.EntryFile {
				n := len(sizes)
				want[e.Path] = slices.DeleteFunc(sizes, func(s int64) bool { return s == e.Size })
				found += n - len(want[e.Path])
			}
		}
		if found != len(ms) {
			return fmt.Errorf("%w: %d of %d matches name no file of the layer", errScanResults, len(ms)-found, len(ms))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.layers[layer] = true
	for _, m := range ms {
		c.matches[m] = true
	}
	return nil
}

// parseSaved reads what SaveLayer wrote, for layer.
func parseSaved(layer int, b []byte) ([]ContentMatch, error) {
	bad := func(what string) ([]ContentMatch, error) {
		return nil, fmt.Errorf("%w: %s", errScanResults, what)
	}
	n, k := binary.Uvarint(b)
	// A match takes at least 3 bytes: a count beyond that is a lie, caught
	// before anything is allocated.
	if k <= 0 || n > uint64(len(b)-k)/3 { //nolint:gosec // a length
		return bad("count")
	}
	b = b[k:]
	ms := make([]ContentMatch, 0, n)
	for range n {
		pl, k := binary.Uvarint(b)
		if k <= 0 || pl == 0 || pl > uint64(len(b)-k) { //nolint:gosec // a length
			return bad("path")
		}
		m := ContentMatch{Layer: layer, Path: string(b[k : k+int(pl)])} //nolint:gosec // bounded by len(b)
		b = b[k+int(pl):]                                               //nolint:gosec // bounded by len(b)
		if len(b) < 1 {
			return bad("truncated")
		}
		m.Kind, b = SecretKind(b[0]), b[1:]
		if m.Kind < SecretPEMPrivateKey || m.Kind > SecretStripeLiveKey {
			return bad("kind")
		}
		size, k := binary.Uvarint(b)
		if k <= 0 || size == 0 || size > uint64(ContentScanMaxFileBytes) {
			return bad("size")
		}
		b = b[k:]
		m.Size = int64(size)
		if len(ms) > 0 && compareSaved(ms[len(ms)-1], m) >= 0 {
			return bad("order")
		}
		ms = append(ms, m)
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return ms, nil
}
