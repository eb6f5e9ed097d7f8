// Package rules holds layerlint's lint rules. A rule is a pure function of
// the facts an analysis gathered (the merged view, the hidden versions, the
// per-layer changesets, the image config): it reads them and returns
// findings. Rules print nothing and keep no state, so they can run in any
// order, in parallel, and in tests without an image on disk.
//
// Rules are listed explicitly by All, in ID order. IDs are stable: a rule
// that is retired keeps its ID unused rather than giving it to another.
package rules

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/overlay"
)

// Severity says how much a finding matters.
type Severity uint8

// Severities, most severe first. The zero value is invalid so that a rule
// that forgot to set one is noticed.
const (
	// Error: the image leaks something or is unsafe; CI should fail.
	Error Severity = iota + 1
	// Warning: the image ships bytes or risks it should not.
	Warning
	// Info: worth knowing; may be deliberate.
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Info:
		return "info"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes severities read as words in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one thing a rule found. Its JSON form is part of the lint
// report contract (docs/json.md).
type Finding struct {
	// Rule is the ID of the rule that found it.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Message says what was found, in one sentence. It never quotes file
	// content.
	Message string `json:"message"`
	// Layer is the index of the layer concerned (from 0, bottom), or
	// ImageWide when the finding is about the image as a whole.
	Layer int `json:"layer"`
	// Path is the path concerned, cleaned and relative to the root as in
	// the overlay model; empty when no one path is.
	Path string `json:"path"`
	// Bytes is what the finding costs or concerns, in content bytes; zero
	// when it is not about size.
	Bytes int64 `json:"bytes"`
	// CreatedBy is the history entry of Layer, to point at the Dockerfile
	// step; empty when unknown.
	CreatedBy string `json:"createdBy"`
	// Fix says what to do instead.
	Fix string `json:"fix"`
	// Related is another path the message names, as written there (LL004's
	// first copy). It may change from build to build while the problem
	// stays, so it is no part of the finding's identity (its fingerprint
	// and baseline key).
	Related string `json:"-"`
}

// ImageWide is the Layer of a finding that concerns no single layer.
const ImageWide = -1

// Rule is one lint rule and its documentation.
type Rule struct {
	// ID is stable: LL001, LL002, ...
	ID string
	// Name is kebab-case, for people and config files.
	Name     string
	Severity Severity
	// Summary is one line.
	Summary string
	// Doc is a paragraph for docs/rules/ID.md: why it matters, how to fix
	// it, an example.
	Doc string
	// Check returns the rule's findings sorted by layer, then path.
	Check func(*Facts) []Finding
	// Grouped is set for rules that report file by file where one step
	// usually causes many findings (a package installing its docs, an
	// rm -rf): reports group their findings by layer and directory.
	Grouped bool
	// Saves is set when a finding's Bytes are what fixing it takes out of
	// the image; other rules' Bytes only say what the finding concerns (a
	// layer's size, a file written at run time). Reports rank by savings.
	Saves bool
	// Options are the options the rule takes in .layerlint.yaml.
	Options []RuleOption
}

// Default thresholds of Options.
const (
	DefaultDuplicateMinBytes int64 = 1 << 10
	DefaultMaxLayers               = 50
	DefaultLargeFileMinBytes int64 = 1 << 20
	DefaultZstdMinSaving           = 0.10
)

// Options are the thresholds rules use. The zero value means the defaults.
type Options struct {
	// DuplicateMinBytes is the smallest file LL004 reports.
	DuplicateMinBytes int64
	// MaxLayers is how many layers LL011 accepts.
	MaxLayers int
	// LargeFileMinBytes is the smallest modified file LL008 reports.
	LargeFileMinBytes int64
	// EstimateCompression asks Gather to re-read every gzip layer and
	// measure what zstd would make of it (see EstimateZstd), for LL013. It
	// costs a second read and a compression of those layers.
	EstimateCompression bool
	// ZstdMinSaving is the fraction of a gzip layer's size that zstd must
	// save for LL013 to report it (0.10: 10%).
	ZstdMinSaving float64
}

func (o Options) withDefaults() Options {
	if o.DuplicateMinBytes <= 0 {
		o.DuplicateMinBytes = DefaultDuplicateMinBytes
	}
	if o.MaxLayers <= 0 {
		o.MaxLayers = DefaultMaxLayers
	}
	if o.LargeFileMinBytes <= 0 {
		o.LargeFileMinBytes = DefaultLargeFileMinBytes
	}
	if o.ZstdMinSaving <= 0 {
		o.ZstdMinSaving = DefaultZstdMinSaving
	}
	return o
}

// Facts are what rules read: an analysis, the options, and the merged view
// and waste computed once for all rules. Make them with NewFacts; rules
// treat them as read-only.
type Facts struct {
	*analyze.Analysis
	Options Options
	// Files is the merged view in Walk order (Model.Files).
	Files []overlay.File
	// Waste is every hidden regular-file version (Model.Waste).
	Waste []overlay.Waste
	// Content is what content scanning found (see ContentScan); nil when
	// no scan ran, and then LL009 judges files by their names only.
	Content *ContentResults
	// Zstd holds, for the gzip layers, what zstd would make of them (see
	// EstimateZstd); nil unless estimated. LL013 reads it.
	Zstd []ZstdEstimate
	// CopyUp holds copy-up costs measured on a real overlayfs mount
	// (`layerlint mount --probe-copy-up`), by model path; nil when none
	// were measured. LL006 quotes them.
	CopyUp map[string]CopyUpMeasure
}

// CopyUpMeasure is what appending one byte to a file of the image cost on
// a real overlayfs mount: the kernel copied the whole file up first.
type CopyUpMeasure struct {
	// Size is the file's size before the append.
	Size int64 `json:"size"`
	// CopiedBytes is what landed in the upper directory.
	CopiedBytes int64 `json:"copiedBytes"`
	// Duration is how long the open and the one-byte write took.
	Duration time.Duration `json:"durationNs"`
}

// NewFacts gathers the facts of a; zero options take the defaults. It reads
// nothing more: Content and Zstd stay nil (see Gather).
func NewFacts(a *analyze.Analysis, opts Options) *Facts {
	return &Facts{Analysis: a, Options: opts.withDefaults(), Files: a.Model.Files(), Waste: a.Model.Waste()}
}

// Gather is NewFacts plus the opt-in facts: the results of scan, the
// content scan that was plugged into analyze.Options.Scan for the
// analysis of a (nil when none was), and, when opts.EstimateCompression is
// set, the zstd estimates of EstimateCompression, which re-reads every gzip
// layer.
func Gather(ctx context.Context, a *analyze.Analysis, opts Options, scan *ContentScan) (*Facts, error) {
	f := NewFacts(a, opts)
	if scan != nil {
		f.Content = scan.Results()
	}
	if f.Options.EstimateCompression {
		est, err := EstimateCompression(ctx, a)
		if err != nil {
			return nil, err
		}
		f.Zstd = est
	}
	return f, nil
}

// compression returns the compression of a layer's blob as the analysis
// read it; CompressionUnknown for a layer not analyzed.
func (f *Facts) compression(layer int) source.Compression {
	if layer < 0 || layer >= len(f.Stats) {
		return source.CompressionUnknown
	}
	return f.Stats[layer].Compression
}

// createdBy returns the history entry of a layer, "" when unknown.
func (f *Facts) createdBy(layer int) string {
	if f.Report == nil || layer < 0 || layer >= len(f.Report.Layers) {
		return ""
	}
	return f.Report.Layers[layer].CreatedBy
}

// All returns every rule, in ID order. The slice is new on each call.
func All() []Rule {
	return []Rule{
		overwrittenFiles(),
		deletedFiles(),
		metadataOnlyCopies(),
		duplicateContent(),
		packageLeftovers(),
		writeHeavyPaths(),
		dataUnderVolume(),
		largeFileModified(),
		secretFiles(),
		unsafePermissions(),
		layerHygiene(),
		cacheBustingOrder(),
		layerCompression(),
	}
}

// Run runs every rule of All on f and returns the findings sorted by layer,
// path, then rule ID.
func Run(f *Facts) []Finding {
	return RunRules(f, All())
}

// RunRules runs the given rules on f; findings are sorted as by Run.
func RunRules(f *Facts, rs []Rule) []Finding {
	var out []Finding
	for _, r := range rs {
		out = append(out, r.Check(f)...)
	}
	slices.SortStableFunc(out, compareFindings)
	return out
}

func compareFindings(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.Layer, b.Layer), strings.Compare(a.Path, b.Path), strings.Compare(a.Rule, b.Rule))
}

// sorted sorts one rule's findings by layer, then path. The sort is stable
// so that findings a rule emits in a meaningful order for one path keep it.
func sorted(fs []Finding) []Finding {
	slices.SortStableFunc(fs, compareFindings)
	return fs
}

// abs shows a model path as the container sees it.
func abs(p string) string { return "/" + p }

// layerList formats ascending layer indexes as "layer 2" or
// "layers 0, 2 and 3".
func layerList(ls []int) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = strconv.Itoa(l)
	}
	switch len(parts) {
	case 0:
		return "no layer"
	case 1:
		return "layer " + parts[0]
	}
	return "layers " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
