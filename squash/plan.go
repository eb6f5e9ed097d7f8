package squash

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze"
)

// Mode says which layers merge.
type Mode uint8

// Squash modes.
const (
	// SquashNone merges nothing (reorder, strip or recompress only).
	SquashNone Mode = iota
	// SquashRanges merges the ranges of Options.Ranges.
	SquashRanges
	// SquashAll merges every layer above the base into one.
	SquashAll
	// SquashAuto merges the fewest layers that remove all waste above the
	// base, moving commuting layers out of the way.
	SquashAuto
)

func (m Mode) String() string {
	switch m {
	case SquashNone:
		return "none"
	case SquashRanges:
		return "ranges"
	case SquashAll:
		return "all"
	case SquashAuto:
		return "auto"
	}
	return "squash(" + strconv.Itoa(int(m)) + ")"
}

// Range is an inclusive range of source layer indices.
type Range struct{ From, To int }

func (r Range) String() string { return fmt.Sprintf("%d..%d", r.From, r.To) }

// ParseRange reads "FROM..TO" (inclusive, from 0 at the bottom) or "N".
func ParseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		b = a
	}
	from, err1 := strconv.Atoi(strings.TrimSpace(a))
	to, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || from < 0 || to < from {
		return Range{}, fmt.Errorf("range %q: want FROM..TO with 0 <= FROM <= TO: %w", s, ErrBadPlan)
	}
	return Range{From: from, To: to}, nil
}

// Options say what to rewrite. The zero value rewrites nothing.
type Options struct {
	Mode   Mode
	Ranges []Range
	// Reorder moves commuting layers: stable first, volatile last.
	Reorder bool
	// Previous lists the diff_ids of earlier builds: a layer whose diff_id
	// is among them is stable.
	Previous []v1.Hash
	// BaseLayers is how many bottom layers belong to the base image; they
	// are never rewritten or moved. AllowBase lets an explicit range
	// include them (the caller said --base-layers 0).
	BaseLayers int
	// Strip lists path globs to drop from the final view, with what is
	// under what they match. The dialect is .layerlint.yaml's
	// (gitignore-style, internal/pathglob): "*.log" at any depth,
	// "var/cache" from the root, "**" any number of segments. A glob that
	// matches nothing in the image is an error.
	Strip []string
	// StripPaths lists exact paths (cleaned, as the model names them) to
	// drop from the final view with what is under them: what lint
	// findings name, with no pattern parsed again.
	StripPaths []string
	// Compression of the layers written; CompressionSource keeps each
	// image's own. Level is the codec's level (0: its default).
	Compression Compression
	Level       int
	// ForceCompression recompresses untouched layers too.
	ForceCompression bool
	// RewriteTimestamp, when set, clamps the mtimes of the entries of the
	// layers written to at most this Unix time.
	RewriteTimestamp *int64
	// Progress, when set, is told as each layer that fix writes (a
	// rewritten group or a recompressed layer) starts and ends. It is
	// called from several goroutines at once and must return quickly;
	// only cmd/ shows it.
	Progress func(WriteProgress)

	// ociTypes converts Docker media types (manifest, config, layers) to
	// their OCI equivalents; set by the targets that want them.
	ociTypes bool
}

// WriteProgress is one step of writing an image's layers.
type WriteProgress struct {
	// Image is the index of the image among those Fix was given.
	Image int
	// Layer is the output layer's index; Jobs how many layers of the
	// image are written (kept layers copied as they are do not count).
	Layer, Jobs int
	// Done is set when the layer is written (or failed, with Err).
	Done bool
	Err  error
}

// Group is one layer of the output.
type Group struct {
	// Layers are the source layers whose change the output layer holds,
	// in the order they apply.
	Layers []int
	// Rewrite is set when the layer is recomputed from the model (a merge,
	// a layer with waste of its own, or the top layer when stripping);
	// otherwise the source blob is kept (or only recompressed).
	Rewrite bool
}

func (g Group) String() string {
	if len(g.Layers) == 1 {
		return strconv.Itoa(g.Layers[0])
	}
	parts := make([]string, len(g.Layers))
	for i, l := range g.Layers {
		parts[i] = strconv.Itoa(l)
	}
	return "[" + strings.Join(parts, "+") + "]"
}

// Plan is the rewrite of one image: the output layers, bottom first, and
// why each step is safe.
type Plan struct {
	Groups []Group
	Base   int
	// Notes explain the plan: each merge, each move and why it is safe.
	Notes []string
	// Strip holds the globs to drop from the final view, StripPaths the
	// exact paths (Options.Strip and Options.StripPaths).
	Strip      []string
	StripPaths []string
}

// strips reports whether the plan drops anything from the final view.
func (p *Plan) strips() bool { return len(p.Strip) > 0 || len(p.StripPaths) > 0 }

// Changes reports whether the plan rewrites or moves any layer.
func (p *Plan) Changes() bool {
	for i, g := range p.Groups {
		if g.Rewrite || len(g.Layers) != 1 || g.Layers[0] != i {
			return true
		}
	}
	return false
}

// String is the one-line form of the plan: "0 1 [2+3+4] 6 5".
func (p *Plan) String() string {
	parts := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		parts[i] = g.String()
		if g.Rewrite && len(g.Layers) == 1 {
			parts[i] = "[" + parts[i] + "]"
		}
	}
	return strings.Join(parts, " ")
}

// NewPlan computes the plan for one analyzed image.
func NewPlan(a *analyze.Analysis, opts Options) (*Plan, error) {
	n := len(a.Changesets)
	base := min(max(opts.BaseLayers, 0), n)
	p := &Plan{Base: base, Strip: opts.Strip, StripPaths: opts.StripPaths}
	for i := range n {
		p.Groups = append(p.Groups, Group{Layers: []int{i}})
	}
	for i, cs := range a.Changesets {
		if cs == nil {
			// A foreign layer that is absent can be kept but not read.
			if opts.Mode != SquashNone || opts.Reorder {
				return nil, fmt.Errorf("layer %d (%s) is non-distributable and its blob is absent: %w", i, a.Image.Layers[i].Digest, ErrBadPlan)
			}
		}
	}
	switch opts.Mode {
	case SquashNone:
	case SquashRanges:
		if err := p.ranges(opts.Ranges, n); err != nil {
			return nil, err
		}
	case SquashAll:
		if n-base >= 1 {
			if err := p.ranges([]Range{{From: base, To: n - 1}}, n); err != nil {
				return nil, err
			}
		} else {
			p.Notes = append(p.Notes, "nothing above the base to squash")
		}
	case SquashAuto:
		p.auto(a)
	}
	if opts.Reorder {
		if opts.Mode == SquashRanges {
			return nil, planErrorf(OptionMode, "reordering with explicit ranges: ranges name source positions")
		}
		p.reorder(a, opts.Previous)
	}
	if p.strips() {
		if err := stripMatchesSomething(a.Model.Files(), opts.Strip, opts.StripPaths); err != nil {
			return nil, err
		}
		top := len(p.Groups) - 1
		if top < 0 || p.Groups[top].Layers[0] < base {
			return nil, planErrorf(OptionBaseLayers, "stripping needs a layer above the base to rewrite")
		}
		if !p.Groups[top].Rewrite {
			p.Groups[top].Rewrite = true
			p.Notes = append(p.Notes, fmt.Sprintf("rewrite top layer %s to strip %s", p.Groups[top], strings.Join(slices.Concat(opts.Strip, opts.StripPaths), ", ")))
		}
	}
	return p, nil
}

// ranges applies explicit ranges.
func (p *Plan) ranges(rs []Range, n int) error {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(x, y Range) int { return cmp.Compare(x.From, y.From) })
	for i, r := range rs {
		if r.To >= n {
			return fmt.Errorf("range %s: the image has layers 0..%d: %w", r, n-1, ErrBadPlan)
		}
		if r.From < p.Base {
			return planErrorf(OptionBaseLayers, "range %s touches the base image (layers 0..%d); they stay shared", r, p.Base-1)
		}
		if i > 0 && r.From <= rs[i-1].To {
			return fmt.Errorf("ranges %s and %s overlap: %w", rs[i-1], r, ErrBadPlan)
		}
	}
	var groups []Group
	next := 0
	for _, r := range rs {
		for ; next < r.From; next++ {
			groups = append(groups, Group{Layers: []int{next}})
		}
		g := Group{Rewrite: true}
		for i := r.From; i <= r.To; i++ {
			g.Layers = append(g.Layers, i)
		}
		groups = append(groups, g)
		next = r.To + 1
		p.Notes = append(p.Notes, fmt.Sprintf("squash layers %s into one", r))
	}
	for ; next < n; next++ {
		groups = append(groups, Group{Layers: []int{next}})
	}
	p.Groups = groups
	return nil
}

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}
