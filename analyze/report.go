package analyze

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze/dive"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// SchemaVersion is the version of the JSON report. It changes only when a
// key changes meaning or goes away; new keys may appear in any version.
const SchemaVersion = 2

// Base-layer annotations of the image-spec (annotations.md).
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// Report is what analyze says about one image. Its JSON form is the
// contract for bots: see docs/json.md and docs/schema/report.schema.json.
// Sizes are bytes.
type Report struct {
	SchemaVersion int           `json:"schemaVersion"`
	Image         ImageInfo     `json:"image"`
	Layers        []LayerInfo   `json:"layers"`
	Summary       Summary       `json:"summary"`
	Dive          DiveInfo      `json:"dive"`
	TopWaste      []WasteGroup  `json:"topWaste"`
	Waste         []WasteItem   `json:"waste"`
	Anomalies     []AnomalyItem `json:"anomalies"`
}

// ImageInfo names the image analyzed.
type ImageInfo struct {
	Reference      string   `json:"reference"`
	Format         string   `json:"format"`
	Name           string   `json:"name,omitempty"`
	ManifestDigest string   `json:"manifestDigest"`
	MediaType      string   `json:"mediaType"`
	ConfigDigest   string   `json:"configDigest"`
	Platform       string   `json:"platform,omitempty"`
	Base           BaseInfo `json:"base"`
}

// BaseInfo says which bottom layers came from the base image and how that
// was decided: "annotation" (the base image named by the manifest's
// annotations was found and its layers matched), "option" (--base-layers)
// or "default" (one layer).
type BaseInfo struct {
	Layers int    `json:"layers"`
	Source string `json:"source"`
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// LayerInfo describes one layer.
type LayerInfo struct {
	Index     int    `json:"index"`
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	MediaType string `json:"mediaType"`
	// Compression is what the bytes were found to be: gzip, zstd or none.
	Compression    string `json:"compression"`
	CompressedSize int64  `json:"compressedSize"`
	TarSize        int64  `json:"tarSize"`
	ContentBytes   int64  `json:"contentBytes"`
	Entries        int    `json:"entries"`
	Added          int    `json:"added"`
	Modified       int    `json:"modified"`
	Deleted        int    `json:"deleted"`
	CreatedBy      string `json:"createdBy"`
	Base           bool   `json:"base"`
	// WastedBytes are this layer's content bytes that no path shows.
	WastedBytes int64 `json:"wastedBytes"`
	// WastedWireBytes estimates their compressed size by the layer's own
	// compression ratio; WastedWireBytesExact measures it (--exact-wire).
	WastedWireBytes      int64  `json:"wastedWireBytes"`
	WastedWireBytesExact *int64 `json:"wastedWireBytesExact,omitempty"`
	// HiddenBytes are lower layers' content bytes that this layer hides.
	HiddenBytes int64 `json:"hiddenBytes"`
	Analyzed    bool  `json:"analyzed"`
	// NotAnalyzed says why a layer was skipped (a foreign layer whose blob
	// is absent).
	NotAnalyzed string `json:"notAnalyzed,omitempty"`
}

// Summary is the image total.
type Summary struct {
	Layers         int   `json:"layers"`
	CompressedSize int64 `json:"compressedSize"`
	TarSize        int64 `json:"tarSize"`
	ContentBytes   int64 `json:"contentBytes"`
	// MergedEntries counts every path of the merged view; MergedFiles the
	// regular files; MergedBytes their content, each hard-linked inode once.
	MergedEntries int   `json:"mergedEntries"`
	MergedFiles   int   `json:"mergedFiles"`
	MergedBytes   int64 `json:"mergedBytes"`
	WastedBytes   int64 `json:"wastedBytes"`
	// WastedByCause splits WastedBytes by why the bytes are hidden.
	WastedByCause CauseBytes `json:"wastedByCause"`
	// MetadataOnlyBytes are wasted bytes re-added unchanged to change only
	// mode, owner or time.
	MetadataOnlyBytes int64 `json:"metadataOnlyBytes"`
	// Efficiency is merged bytes over content bytes (1 for an empty image).
	Efficiency      float64 `json:"efficiency"`
	WastedWireBytes int64   `json:"wastedWireBytes"`
	// WastedWireBytesExact is set with --exact-wire.
	WastedWireBytesExact *int64 `json:"wastedWireBytesExact,omitempty"`
	BaseContentBytes     int64  `json:"baseContentBytes"`
	UserContentBytes     int64  `json:"userContentBytes"`
	// UserWastedBytes is the waste that layers above the base shipped or
	// caused; UserWastedRatio divides it by UserContentBytes (null when
	// nothing was added above the base).
	UserWastedBytes int64    `json:"userWastedBytes"`
	UserWastedRatio *float64 `json:"userWastedRatio"`
	NotAnalyzed     int      `json:"notAnalyzedLayers"`
}

// CauseBytes splits bytes by cause of waste.
type CauseBytes struct {
	Overwritten int64 `json:"overwritten"`
	Deleted     int64 `json:"deleted"`
	Opaque      int64 `json:"opaque"`
	Replaced    int64 `json:"replaced"`
}

func (c *CauseBytes) add(cause overlay.Cause, n int64) {
	switch cause {
	case overlay.CauseOverwritten:
		c.Overwritten += n
	case overlay.CauseDeleted:
		c.Deleted += n
	case overlay.CauseOpaque:
		c.Opaque += n
	case overlay.CauseReplaced:
		c.Replaced += n
	}
}

// DiveInfo holds dive's three metrics computed by dive's own formulas
// (which count the kept copy of a changed file as waste). A ratio that is
// undefined (0/0, x/0) is null.
type DiveInfo struct {
	Efficiency        *float64 `json:"efficiency"`
	WastedBytes       int64    `json:"wastedBytes"`
	UserWastedPercent *float64 `json:"userWastedPercent"`
	SizeBytes         int64    `json:"sizeBytes"`
	UserSizeBytes     int64    `json:"userSizeBytes"`
}

// WasteItem is one hidden regular-file version.
type WasteItem struct {
	Path        string `json:"path"`
	Layer       int    `json:"layer"`
	Size        int64  `json:"size"`
	Cause       string `json:"cause"`
	HiddenBy    int    `json:"hiddenBy"`
	By          string `json:"by"`
	SameContent bool   `json:"sameContent"`
	Hash        string `json:"hash"`
}

// WasteGroup gathers waste for people: one line for a deleted, opaque or
// replaced directory with its file count, one line per overwritten file.
type WasteGroup struct {
	// Path is the file, or the directory whose removal hid the files.
	Path string `json:"path"`
	Dir  bool   `json:"dir"`
	// Layers shipped the bytes (ascending); HiddenBy hid them.
	Layers   []int  `json:"layers"`
	HiddenBy int    `json:"hiddenBy"`
	Cause    string `json:"cause"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
}

// AnomalyItem is something odd in a layer that is not an error.
type AnomalyItem struct {
	Layer  int    `json:"layer"`
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// builder accumulates the report as layers are applied.
type builder struct {
	r       *Report
	img     *source.Image
	history []string
	base    int
}

func newBuilder(img *source.Image, opts Options) *builder {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Image: ImageInfo{
			Format:         img.Format.String(),
			Name:           img.Ref,
			ManifestDigest: img.ManifestDigest.String(),
			MediaType:      string(img.ManifestMediaType),
			ConfigDigest:   img.ConfigDigest.String(),
		},
		TopWaste:  []WasteGroup{},
		Waste:     []WasteItem{},
		Anomalies: []AnomalyItem{},
		Layers:    []LayerInfo{},
	}
	if img.Platform != nil {
		r.Image.Platform = platformString(img.Platform.OS, img.Platform.Architecture, img.Platform.Variant)
	}
	var base BaseInfo
	switch opts.BaseFrom {
	case BaseAnnotation:
		base.Layers, base.Source = max(opts.BaseLayers, 0), "annotation"
	case BaseOption:
		base.Layers, base.Source = max(opts.BaseLayers, 0), "option"
	case BaseDefault:
		base.Layers, base.Source = DefaultBaseLayers, "default"
	}
	base.Name = img.Annotations[AnnotationBaseName]
	base.Digest = img.Annotations[AnnotationBaseDigest]
	base.Layers = min(base.Layers, len(img.Layers))
	r.Image.Base = base
	return &builder{r: r, img: img, history: LayerHistory(img), base: base.Layers}
}

func platformString(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

// LayerHistory returns the created_by of each layer's history entry
// (one per layer, bottom first; "" where the history is short), as
// HistoryOf and HistoryByLayer pair them. The text is the image's: escape
// it (Printable) before showing it.
func LayerHistory(img *source.Image) []string {
	byLayer, _ := HistoryByLayer(HistoryOf(img), len(img.Layers))
	out := make([]string, len(byLayer))
	for i, e := range byLayer {
		out[i] = e.CreatedBy
	}
	return out
}

func (b *builder) layerInfo(l *source.Layer) LayerInfo {
	return LayerInfo{
		Index:     l.Index,
		Digest:    l.Digest.String(),
		DiffID:    l.DiffID.String(),
		MediaType: string(l.MediaType),
		CreatedBy: b.history[l.Index],
		Base:      l.Index < b.base,
	}
}

func (b *builder) missingLayer(l *source.Layer) {
	li := b.layerInfo(l)
	li.CompressedSize = l.Size
	li.NotAnalyzed = l.MissingReason
	b.r.Layers = append(b.r.Layers, li)
}

// layer adds an analyzed layer, before its changeset is applied (which
// may consume it); applied then says what applying it did.
func (b *builder) layer(l *source.Layer, cs *overlay.Changeset, st source.Stats) {
	li := b.layerInfo(l)
	li.Analyzed = true
	li.Compression = st.Compression.String()
	li.CompressedSize = st.Compressed
	li.TarSize = st.Uncompressed
	li.ContentBytes = cs.ContentBytes
	li.Entries = cs.Len()
	b.r.Layers = append(b.r.Layers, li)
}

// applied records what the last layer added did to the view below it.
func (b *builder) applied(ls overlay.LayerStats) {
	li := &b.r.Layers[len(b.r.Layers)-1]
	li.Added, li.Modified, li.Deleted = ls.Added, ls.Modified, ls.Deleted
}

func (b *builder) finish(m *overlay.Model, dm dive.Metrics) *Report {
	r := b.r
	s := &r.Summary
	s.Layers = len(r.Layers)
	for _, l := range r.Layers {
		s.CompressedSize += l.CompressedSize
		s.TarSize += l.TarSize
		s.ContentBytes += l.ContentBytes
		if l.Base {
			s.BaseContentBytes += l.ContentBytes
		} else {
			s.UserContentBytes += l.ContentBytes
		}
		if !l.Analyzed {
			s.NotAnalyzed++
		}
	}
	s.MergedEntries = m.Paths()
	s.MergedFiles, s.MergedBytes = m.VisibleBytes()
	for _, w := range m.Waste() {
		r.Waste = append(r.Waste, WasteItem{
			Path: "/" + w.Path, Layer: w.Layer, Size: w.Size, Cause: w.Cause.String(),
			HiddenBy: w.HiddenBy, By: "/" + w.By, SameContent: w.SameContent, Hash: w.Hash.String(),
		})
		s.WastedBytes += w.Size
		s.WastedByCause.add(w.Cause, w.Size)
		if w.SameContent {
			s.MetadataOnlyBytes += w.Size
		}
		if w.HiddenBy >= b.base {
			s.UserWastedBytes += w.Size
		}
		if w.Layer < len(r.Layers) {
			r.Layers[w.Layer].WastedBytes += w.Size
		}
		if w.HiddenBy < len(r.Layers) {
			r.Layers[w.HiddenBy].HiddenBytes += w.Size
		}
	}
	for i := range r.Layers {
		l := &r.Layers[i]
		if l.TarSize > 0 {
			// The layer's own ratio: wire bytes per tar byte.
			l.WastedWireBytes = int64(math.Round(float64(l.WastedBytes) * float64(l.CompressedSize) / float64(l.TarSize)))
		}
		s.WastedWireBytes += l.WastedWireBytes
	}
	s.Efficiency = 1
	if s.ContentBytes > 0 {
		s.Efficiency = float64(s.MergedBytes) / float64(s.ContentBytes)
	}
	s.UserWastedRatio = ratio(float64(s.UserWastedBytes), float64(s.UserContentBytes))
	for _, a := range m.Anomalies() {
		r.Anomalies = append(r.Anomalies, AnomalyItem{Layer: a.Layer, Path: anomalyPath(a.Path), Kind: a.Kind.String(), Detail: a.Detail})
	}
	r.TopWaste = groupWaste(m.Waste())
	r.Dive = DiveInfo{
		Efficiency:        finite(dm.Efficiency),
		WastedBytes:       int64(dm.WastedBytes), //nolint:gosec // sizes fit in int64
		UserWastedPercent: finite(dm.UserWastedPercent),
		SizeBytes:         dm.SizeBytes,
		UserSizeBytes:     dm.UserSizeBytes,
	}
	return r
}

func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := a / b
	return &v
}

// finite maps NaN and infinities to nil, which JSON shows as null.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// groupWaste folds waste records into lines for people: files hidden by
// removing one directory (whiteout, opaque marker or type change) become one
// group whatever layers shipped them; overwritten files stay one line per
// version. Groups are sorted by bytes, largest first, then by path.
func groupWaste(ws []overlay.Waste) []WasteGroup {
	type key struct {
		path     string
		layer    int // -1 for directory groups, which span layers
		hiddenBy int
		cause    overlay.Cause
	}
	idx := map[key]int{}
	groups := []WasteGroup{}
	for _, w := range ws {
		k := key{path: w.Path, layer: w.Layer, hiddenBy: w.HiddenBy, cause: w.Cause}
		dir := w.Cause != overlay.CauseOverwritten && w.By != w.Path
		if dir {
			k.path, k.layer = w.By, -1
		}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, WasteGroup{Path: "/" + k.path, Dir: dir, HiddenBy: w.HiddenBy, Cause: w.Cause.String()})
		}
		g := &groups[i]
		if !slices.Contains(g.Layers, w.Layer) {
			g.Layers = append(g.Layers, w.Layer)
			slices.Sort(g.Layers)
		}
		g.Files++
		g.Bytes += w.Size
	}
	slices.SortStableFunc(groups, func(a, b WasteGroup) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), strings.Compare(a.Path, b.Path), cmp.Compare(a.Layers[0], b.Layers[0]))
	})
	return groups
}

// anomalyPath spells an anomaly's path as the rest of the report does,
// absolute; the root entry, which has none, is "/".
func anomalyPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}
