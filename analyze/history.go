package analyze

import "github.com/layerlint/layerlint/analyze/source"

// HistoryEntry is one entry of the image config's history, paired with the
// layer it made. Its text comes from the image: escape it before showing
// it (Printable).
type HistoryEntry struct {
	// Layer is the index of the layer the entry made, counting the
	// entries not marked empty_layer in order; -1 for an entry marked
	// empty_layer. A history longer than the layers gives indexes past the
	// last layer.
	Layer int
	// CreatedBy is the command that made the layer (a Dockerfile step).
	CreatedBy string
	// Comment is the entry's comment.
	Comment string
}

// HistoryOf pairs the config's history with the layers: entries marked
// empty_layer have no layer, the others take layers 0, 1, ... in order.
// It is nil without a config. This is the one pairing of history and
// layers; HistoryByLayer turns it into one entry per layer.
func HistoryOf(img *source.Image) []HistoryEntry {
	if img == nil || img.Config == nil {
		return nil
	}
	out := make([]HistoryEntry, 0, len(img.Config.History))
	layer := 0
	for _, h := range img.Config.History {
		e := HistoryEntry{Layer: -1, CreatedBy: h.CreatedBy, Comment: h.Comment}
		if !h.EmptyLayer {
			e.Layer = layer
			layer++
		}
		out = append(out, e)
	}
	return out
}

// HistoryByLayer returns the entry that made each of n layers (a zero entry
// with Layer -1 where the history is short), and whether the history lines
// up with the layers: exactly n entries made layers. Where it does not,
// which entry belongs to which layer is a guess; callers that act on the
// pairing (rather than show it) should not trust it.
func HistoryByLayer(h []HistoryEntry, n int) (byLayer []HistoryEntry, aligned bool) {
	byLayer = make([]HistoryEntry, n)
	for i := range byLayer {
		byLayer[i].Layer = -1
	}
	made := 0
	for _, e := range h {
		if e.Layer < 0 {
			continue
		}
		made++
		if e.Layer < n {
			byLayer[e.Layer] = e
		}
	}
	return byLayer, made == n
}

// History is HistoryOf the analyzed image.
func (a *Analysis) History() []HistoryEntry { return HistoryOf(a.Image) }
