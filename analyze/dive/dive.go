package dive

import (
	"bytes"
	"slices"
	"sort"

	"github.com/layerlint/layerlint/overlay"
)

// Metrics are dive's numbers for one image.
type Metrics struct {
	// Efficiency is Σ smallest size / Σ cumulative size over every path
	// of every layer; 1 when the cumulative sum is 0.
	Efficiency float64
	// WastedBytes is the cumulative size of every inefficient path, the
	// copy still visible included.
	WastedBytes uint64
	// UserWastedPercent is WastedBytes / UserSizeBytes: a ratio, not a
	// percent, despite dive's name. NaN for 0/0 and +Inf for x/0, as dive
	// computes it.
	UserWastedPercent float64
	// SizeBytes is the sum of LayerSizes.
	SizeBytes int64
	// UserSizeBytes is the sum of LayerSizes except the first: dive calls
	// every layer but the bottom one "user", whatever the base image was.
	UserSizeBytes int64
	// Inefficiencies lists the paths seen two or more times, largest
	// cumulative size first; ties are in dive's order (see Result).
	Inefficiencies []Inefficiency
	// LayerSizes is each layer's sum of tar header sizes, bottom first.
	LayerSizes []int64
}

// Inefficiency is one path that dive reports as inefficient.
type Inefficiency struct {
	// Path is cleaned and relative to the root, without dive's leading
	// "/". For a whiteout it is the path deleted.
	Path string
	// Count is how many layer trees hold the path as a leaf.
	Count int
	// CumulativeSize is the sum of the sizes of those occurrences.
	CumulativeSize int64
}

// pathStat is dive's per-path record, held by value in a map keyed by the
// path: one record per path of the image, so no pointer and no second copy
// of the path.
type pathStat struct {
	cumulative int64
	// min starts at -1, and stays there when dive gave up on the path's
	// only occurrence (a whiteout of nothing), which then lowers the
	// efficiency numerator by one.
	min   int64
	count int
}

// Calculator computes dive's metrics one layer at a time. Its memory grows
// with the number of paths of the image, not with the number of layers:
// it keeps one stacked tree and one record per path. It is not safe for
// concurrent use.
type Calculator struct {
	// stacked is layers 0..n-1 stacked the way dive stacks them for
	// sizing whiteouts: a copy of layer 0 with layers 0..n-1 grafted on;
	// nil before the first layer.
	stacked *node
	// top is the tree of the last layer added, not yet stacked: only a
	// whiteout of a later layer needs it in stacked, so the top layer of
	// the image (and the copy of layer 0) is never stacked at all.
	top *node
	// last, when positive, is the number of layers the image has: the
	// tree of the last one is dropped once scored, and the records become
	// frozen.
	last   int
	frozen *frozen
	stats  map[string]pathStat
	// direct sums what the last announced layer added for the paths no
	// layer below had: seen once, they need no record (see score).
	direct struct{ minSum, cumSum int64 }
	// inefficient holds paths in the order they were first seen twice: it
	// is the input order of dive's sort, which decides ties.
	inefficient []string
	layerSizes  []int64
	// sizes remembers, while one layer is scored, the subtree size of
	// every directory of the lookup tree summed so far.
	sizes map[*node]int64
	// work counts the tree nodes visited, built, copied and looked up, so
	// that a test can hold the cost to the size of the image: dive stacks
	// the lower layers again for every whiteout, the square of it.
	work int
}

// NewCalculator returns a Calculator with no layers.
func NewCalculator() *Calculator {
	return &Calculator{stats: make(map[string]pathStat)}
}

// NewCalculatorFor returns a Calculator for an image of the given number of
// layers: it lets the last layer's tree go as soon as it is scored, since no
// layer above needs it for sizing whiteouts, and once that layer is scored
// it keeps only the sums and the inefficient paths, dropping its per-path
// records and its stacked tree. Layers added beyond the announced number
// are ignored.
func NewCalculatorFor(layers int) *Calculator {
	c := NewCalculator()
	c.last = layers
	return c
}

// AddLayer adds the next layer, bottom first.
func (c *Calculator) AddLayer(cs *overlay.Changeset) {
	if c.frozen != nil {
		return // beyond the layers announced to NewCalculatorFor
	}
	if c.top != nil {
		if c.stacked == nil {
			var copied int
			c.stacked, copied = c.top.clone()
			c.work += copied
		}
		c.work += c.stacked.stack(c.top)
		c.top = nil // its names now live in stacked; let it go before the next tree
	}
	tree, size := layerTree(cs)
	c.work += cs.Len() + len(cs.Anomalies)
	// dive sizes a whiteout in layer n against layers 0..n-1 stacked; for
	// layer 0 that range is empty and it uses layer 0's own tree.
	lookup := c.stacked
	if lookup == nil {
		lookup = tree
	}
	c.score(tree, lookup, len(c.layerSizes)+1 == c.last)
	c.layerSizes = append(c.layerSizes, size)
	if len(c.layerSizes) != c.last {
		c.top = tree
		return
	}
	// The last layer: freeze what Result needs and let the per-path records
	// and the stacked tree go before the caller builds its own model.
	c.frozen = &frozen{order: c.order()}
	c.frozen.minSum, c.frozen.cumSum = c.sums()
	c.frozen.minSum += c.direct.minSum
	c.frozen.cumSum += c.direct.cumSum
	c.stats, c.inefficient, c.stacked = nil, nil, nil
}

// frozen is what Result needs once the last announced layer is added.
type frozen struct {
	minSum, cumSum int64
	order          []Inefficiency
}

// sums returns Σ smallest size and Σ cumulative size over every path.
func (c *Calculator) sums() (minSum, cumSum int64) {
	for _, st := range c.stats {
		minSum += st.min
		cumSum += st.cumulative
	}
	return minSum, cumSum
}

// order returns the inefficient paths in the order they were first seen
// twice.
func (c *Calculator) order() []Inefficiency {
	order := make([]Inefficiency, len(c.inefficient))
	for i, p := range c.inefficient {
		st := c.stats[p]
		order[i] = Inefficiency{Path: p, Count: st.count, CumulativeSize: st.cumulative}
	}
	return order
}

// score records every leaf of one layer tree, as dive's Efficiency visitor
// does. In the last layer (final), a path that no layer below had and no
// other leaf of the layer names is seen once and for all: its record would
// only add to the sums, so it goes to them directly, and an image of one
// layer keeps no record at all.
func (c *Calculator) score(tree, lookup *node, final bool) {
	defer func() { c.sizes = nil }() // lookup changes before the next layer
	var buf []byte                   // the leaf's path; a string only for a record
	tree.walk(nil, func(dir []byte, name string, parent, n *node) bool {
		c.work++
		if len(n.children) > 0 {
			return true
		}
		kind, rest := overlay.ClassifyName(name)
		whiteout := kind != overlay.NamePlain // as dive: any ".wh." name
		buf = appendPath(buf[:0], dir, rest)
		st, ok := c.stats[string(buf)]
		direct := !ok && final && !twin(parent, name, whiteout, rest)
		if !ok {
			st = pathStat{min: -1}
		}
		size := n.data.size
		if whiteout {
			// A deleted file counts 0 and a deleted directory the whole
			// subtree that the lower layers stacked at that path.
			prev := lookup.lookup(string(buf))
			c.work += bytes.Count(buf, []byte("/")) + 1
			if prev == nil {
				// dive's lookup fails, its visitor returns the error and the
				// rest of this layer is never visited.
				if direct {
					c.direct.minSum += st.min
				} else {
					c.stats[string(buf)] = st
				}
				return false
			}
			size = 0
			if prev.data.isDir {
				size = c.subtreeSize(prev)
			}
		}
		if direct {
			c.direct.minSum += size
			c.direct.cumSum += size
			return true
		}
		p := string(buf)
		st.cumulative += size
		if st.min < 0 || size < st.min {
			st.min = size
		}
		st.count++
		c.stats[p] = st
		if st.count == 2 {
			c.inefficient = append(c.inefficient, p)
		}
		return true
	})
}

// subtreeSize sums the payload sizes of n and of every node below it. Each
// directory's sum is remembered until the layer is scored: a layer that
// deletes a directory and, one by one, the directories inside it would
// otherwise walk the same nodes once per level of nesting.
func (c *Calculator) subtreeSize(n *node) int64 {
	if s, ok := c.sizes[n]; ok {
		return s
	}
	c.work++
	s := n.data.size
	for _, ch := range n.children {
		s += c.subtreeSize(ch)
	}
	if len(n.children) > 0 {
		if c.sizes == nil {
			c.sizes = make(map[*node]int64)
		}
		c.sizes[n] = s
	}
	return s
}

// twin reports whether another leaf of parent stands for the same path as
// the leaf name: "x" and ".wh.x" both count at x.
func twin(parent *node, name string, whiteout bool, rest string) bool {
	other := overlay.WhiteoutPrefix + name
	if whiteout {
		other = rest
	}
	t := parent.children[other]
	return t != nil && len(t.children) == 0
}

// bySize is dive's EfficiencySlice order: cumulative size only.
type bySize []Inefficiency

func (s bySize) Len() int           { return len(s) }
func (s bySize) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
func (s bySize) Less(i, j int) bool { return s[i].CumulativeSize < s[j].CumulativeSize }

// Result returns the metrics of the layers added so far. It can be called
// more than once.
//
// Inefficiencies are ordered as dive prints and exports them: its list, in
// the order paths were first seen twice, is sorted ascending by cumulative
// size with sort.Sort and then read backwards. Ties therefore fall where
// that (unstable) sort leaves them, not by path; sort.Sort is used here on
// the same input so they fall in the same place.
func (c *Calculator) Result() Metrics {
	var minSum, cumSum int64
	var order []Inefficiency
	if c.frozen != nil {
		minSum, cumSum, order = c.frozen.minSum, c.frozen.cumSum, slices.Clone(c.frozen.order)
	} else {
		minSum, cumSum = c.sums()
		order = c.order()
	}
	m := Metrics{Efficiency: 1, LayerSizes: slices.Clone(c.layerSizes)}
	if cumSum != 0 {
		m.Efficiency = float64(minSum) / float64(cumSum)
	}

	sort.Sort(bySize(order))
	for i := len(order) - 1; i >= 0; i-- {
		m.Inefficiencies = append(m.Inefficiencies, order[i])
		m.WastedBytes += uint64(order[i].CumulativeSize) //nolint:gosec // sizes are never negative
	}

	var user uint64
	for i, s := range c.layerSizes {
		m.SizeBytes += s
		if i != 0 {
			m.UserSizeBytes += s
			user += uint64(s) //nolint:gosec // sizes are never negative
		}
	}
	// Float division, so 0/0 is NaN and x/0 is +Inf, as in dive.
	m.UserWastedPercent = float64(m.WastedBytes) / float64(user)
	return m
}
