// Package diff compares two analyzed images, an old and a new build of one
// Dockerfile, for code-review bots: what the change did to the image's
// size, layer by layer, with the base image's part told apart from the
// layers above it; which files of the merged view appeared, vanished or
// changed, by directory; which waste and which findings it added or
// fixed. Compare computes a typed Result that every output (text, JSON,
// Markdown, the HTML report) renders; Judge applies the CI gates.
//
// It reads what analyze and the lint gate computed and nothing else: no
// image is opened or read again.
package diff

import (
	"slices"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules/gate"
)

// SchemaVersion is the version of the JSON form of Result
// (docs/diff.md, docs/schema/diff.schema.json). It changes only when a key
// changes meaning or goes away; new keys may appear in any version.
const SchemaVersion = 1

// MaxDirs is how many directories Files.Dirs keeps, largest change first;
// the rest are summed in Files.DirsMore.
const MaxDirs = 50

// MaxDirPaths is how many of its largest changes a directory names.
const MaxDirPaths = 3

// dirDepth is how many leading components of a changed path's directory
// decide its group, as the lint report groups findings.
const dirDepth = 3

// Image is one side of a comparison: an analysis and, when the image was
// linted, the gate's result.
type Image struct {
	Analysis *analyze.Analysis
	// Lint is the gate's result on Analysis; nil when not linted, and then
	// the findings are not compared.
	Lint *gate.Result
}

// Result is what changed from an old image to a new one. Its JSON form is
// versioned (SchemaVersion).
type Result struct {
	SchemaVersion int `json:"schemaVersion"`
	// Old and New name the images.
	Old ImageRef `json:"old"`
	New ImageRef `json:"new"`
	// Total is the whole image; Base the base image's layers; Above the
	// layers above the base, the Dockerfile author's part.
	Total Part `json:"total"`
	Base  Part `json:"base"`
	Above Part `json:"above"`
	// BaseChanged is true when the base layers differ (by diff_id).
	BaseChanged bool `json:"baseChanged"`
	// Layers pairs the layers of both images by diff_id: the new image's
	// layers in order, each shared or added, with the old image's layers
	// that are gone each just before the first shared layer above it.
	Layers []Layer `json:"layers"`
	// SharedLayers counts the layers both images have.
	SharedLayers int `json:"sharedLayers"`
	// Files is what changed in the merged view.
	Files Files `json:"files"`
	// Waste is what changed in the waste (analyze's topWaste groups).
	Waste Waste `json:"waste"`
	// Findings are the findings new in the new image and fixed since the
	// old one, by fingerprint; nil when either image was not linted.
	Findings *Findings `json:"findings"`
	// Verdict is set by Judge.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// ImageRef names one image of the comparison.
type ImageRef struct {
	Reference      string `json:"reference"`
	ManifestDigest string `json:"manifestDigest"`
	Platform       string `json:"platform,omitempty"`
	// BaseName and BaseDigest are the base image's annotations, when set.
	BaseName   string `json:"baseName,omitempty"`
	BaseDigest string `json:"baseDigest,omitempty"`
	// BaseLayers counts the layers that belong to the base image.
	BaseLayers int `json:"baseLayers"`
	Layers     int `json:"layers"`
}

// Sizes is a quantity in both images.
type Sizes struct {
	Old   int64 `json:"old"`
	New   int64 `json:"new"`
	Delta int64 `json:"delta"`
}

func sizes(o, n int64) Sizes { return Sizes{Old: o, New: n, Delta: n - o} }

// Part is the size of a range of layers in both images.
type Part struct {
	Layers Sizes `json:"layers"`
	// Content is the sum of the layers' file sizes; Compressed what a pull
	// downloads.
	Content    Sizes `json:"content"`
	Compressed Sizes `json:"compressed"`
}

// LayerStatus says whether a layer is in both images or in one.
type LayerStatus uint8

// Layer statuses.
const (
	// Shared: both images have the layer (same diff_id).
	Shared LayerStatus = iota + 1
	// Added: only the new image has it.
	Added
	// Removed: only the old image has it.
	Removed
)

func (s LayerStatus) String() string {
	switch s {
	case Shared:
		return "shared"
	case Added:
		return "added"
	case Removed:
		return "removed"
	}
	return "status(" + itoa(int(s)) + ")"
}

// MarshalText makes the status read as a word in JSON.
func (s LayerStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Layer is one layer of either image.
type Layer struct {
	Status LayerStatus `json:"status"`
	// OldIndex and NewIndex are the layer's index in each image, -1 where
	// it is absent.
	OldIndex int    `json:"oldIndex"`
	NewIndex int    `json:"newIndex"`
	DiffID   string `json:"diffID"`
	// Base is true when the layer belongs to the base image (of the new
	// image, or of the old one for a removed layer).
	Base       bool   `json:"base"`
	Content    int64  `json:"content"`
	Compressed int64  `json:"compressed"`
	CreatedBy  string `json:"createdBy"`
}

// ChangeKind says how a path of the merged view changed.
type ChangeKind uint8

// Kinds of change.
const (
	// Appeared: only the new image has the path.
	Appeared ChangeKind = iota + 1
	// Vanished: only the old image has it.
	Vanished
	// Modified: both have it, with other content, type, size, mode,
	// owner or link target.
	Modified
)

func (k ChangeKind) String() string {
	switch k {
	case Appeared:
		return "added"
	case Vanished:
		return "removed"
	case Modified:
		return "changed"
	}
	return "change(" + itoa(int(k)) + ")"
}

// MarshalText makes the kind read as a word in JSON.
func (k ChangeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Files is what changed in the merged view.
type Files struct {
	// Added, Removed and Changed count paths; their bytes are the new
	// size, the old size, and the sum of the size deltas.
	Added        int   `json:"added"`
	Removed      int   `json:"removed"`
	Changed      int   `json:"changed"`
	AddedBytes   int64 `json:"addedBytes"`
	RemovedBytes int64 `json:"removedBytes"`
	ChangedBytes int64 `json:"changedBytes"`
	// Merged is the size of the merged view's regular files in both.
	Merged Sizes `json:"merged"`
	// Dirs groups the changes by directory, the largest change in bytes
	// first (by absolute delta, then path), at most MaxDirs.
	Dirs []Dir `json:"dirs"`
	// DirsMore counts the directories left out of Dirs.
	DirsMore int `json:"dirsMore"`
}

// Dir is the changes under one directory.
type Dir struct {
	// Path is absolute, with a trailing slash ("/" for the root).
	Path    string `json:"path"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Changed int    `json:"changed"`
	// Delta is the change of the directory's bytes: added minus removed
	// plus changed deltas.
	Delta int64 `json:"delta"`
	// Largest are its largest changes, by absolute delta.
	Largest []Change `json:"largest"`
}

// Change is one path that changed.
type Change struct {
	// Path is absolute.
	Path string     `json:"path"`
	Kind ChangeKind `json:"kind"`
	// Old and New are the sizes (0 where absent or not a regular file).
	Old int64 `json:"old"`
	New int64 `json:"new"`
	// OldLink and NewLink are the symlink's target as written, on the
	// side where the path is a symlink (empty on the other): a retargeted
	// link has no size to show, its target is the change.
	OldLink string `json:"oldLink,omitempty"`
	NewLink string `json:"newLink,omitempty"`
}

// Waste is what changed in the image's waste.
type Waste struct {
	// Total is the wasted bytes in both images; Above the waste the layers
	// above the base shipped or caused.
	Total Sizes `json:"total"`
	Above Sizes `json:"above"`
	// Added lists waste groups the new image has more of, Removed those
	// it has less of, largest change first.
	Added   []WasteChange `json:"added"`
	Removed []WasteChange `json:"removed"`
}

// WasteChange is one waste group (analyze.WasteGroup, matched by path,
// cause and whether it is a directory) that grew or shrank.
type WasteChange struct {
	// Path is absolute, with a trailing slash for a directory.
	Path  string `json:"path"`
	Cause string `json:"cause"`
	Old   int64  `json:"old"`
	New   int64  `json:"new"`
	// Files is the group's file count in the new image (the old one for
	// removed waste).
	Files int `json:"files"`
}

// Findings are the lint findings a change introduced and fixed.
type Findings struct {
	// New are in the new image only, Fixed in the old one only, matched by
	// fingerprint (rule, path and kind: not layer or digest), the most
	// severe first, then the largest. Paths are absolute.
	New   []gate.Finding `json:"new"`
	Fixed []gate.Finding `json:"fixed"`
	// Old and New count every finding of each image.
	OldCount int `json:"oldCount"`
	NewCount int `json:"newCount"`
}

// Compare computes what changed from old to new.
func Compare(old, new Image) *Result {
	o, n := old.Analysis.Report, new.Analysis.Report
	r := &Result{SchemaVersion: SchemaVersion, Old: ref(o), New: ref(n)}
	ob, nb := o.Image.Base.Layers, n.Image.Base.Layers
	r.Total = part(o.Layers, n.Layers)
	r.Base = part(o.Layers[:ob], n.Layers[:nb])
	r.Above = part(o.Layers[ob:], n.Layers[nb:])
	r.BaseChanged = !slices.EqualFunc(o.Layers[:ob], n.Layers[:nb], func(a, b analyze.LayerInfo) bool { return a.DiffID == b.DiffID })
	r.Layers, r.SharedLayers = pairLayers(o.Layers, n.Layers)
	r.Files = compareFiles(old.Analysis.Model, new.Analysis.Model)
	r.Files.Merged = sizes(o.Summary.MergedBytes, n.Summary.MergedBytes)
	r.Waste = compareWaste(o, n)
	if old.Lint != nil && new.Lint != nil {
		r.Findings = compareFindings(old.Lint.Findings, new.Lint.Findings)
	}
	return r
}

func ref(r *analyze.Report) ImageRef {
	return ImageRef{
		Reference: r.Image.Reference, ManifestDigest: r.Image.ManifestDigest, Platform: r.Image.Platform,
		BaseName: r.Image.Base.Name, BaseDigest: r.Image.Base.Digest, BaseLayers: r.Image.Base.Layers,
		Layers: len(r.Layers),
	}
}

func part(o, n []analyze.LayerInfo) Part {
	sum := func(ls []analyze.LayerInfo) (content, compressed int64) {
		for _, l := range ls {
			content += l.ContentBytes
			compressed += l.CompressedSize
		}
		return content, compressed
	}
	oc, oz := sum(o)
	nc, nz := sum(n)
	return Part{Layers: sizes(int64(len(o)), int64(len(n))), Content: sizes(oc, nc), Compressed: sizes(oz, nz)}
}

// pairLayers matches layers by diff_id. A diff_id the old image has
// several times pairs in order. Rows follow the new image; an old layer
// that is gone comes just before the first shared layer above it, so
// that a replaced layer sits beside its replacement.
func pairLayers(o, n []analyze.LayerInfo) ([]Layer, int) {
	unused := map[string][]int{}
	for i, l := range o {
		unused[l.DiffID] = append(unused[l.DiffID], i)
	}
	pairedOld := make([]bool, len(o))
	newOld := make([]int, len(n))
	for i, l := range n {
		newOld[i] = -1
		if idx := unused[l.DiffID]; len(idx) > 0 {
			newOld[i], pairedOld[idx[0]] = idx[0], true
			unused[l.DiffID] = idx[1:]
		}
	}
	var out []Layer
	shared, nextOld := 0, 0
	removedUpTo := func(limit int) {
		for ; nextOld < limit; nextOld++ {
			if !pairedOld[nextOld] {
				l := o[nextOld]
				out = append(out, Layer{Status: Removed, OldIndex: nextOld, NewIndex: -1, DiffID: l.DiffID, Base: l.Base,
					Content: l.ContentBytes, Compressed: l.CompressedSize, CreatedBy: l.CreatedBy})
			}
		}
	}
	for i, l := range n {
		row := Layer{Status: Added, OldIndex: -1, NewIndex: i, DiffID: l.DiffID, Base: l.Base,
			Content: l.ContentBytes, Compressed: l.CompressedSize, CreatedBy: l.CreatedBy}
		if k := newOld[i]; k >= 0 {
			removedUpTo(k)
			nextOld = max(nextOld, k+1)
			row.Status, row.OldIndex = Shared, k
			shared++
		}
		out = append(out, row)
	}
	removedUpTo(len(o))
	return out, shared
}

func displayPath(p string) string {
	if p == "" {
		return ""
	}
	return "/" + p
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
