package squash

import (
	"fmt"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze"
)

// packageManager matches history commands that install system packages:
// such layers change less often than the application's own.
var packageManager = regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf|zypper|pacman|tdnf|pip3?|npm|yarn|pnpm|gem|bundle|go mod download|cargo fetch|composer)\b`)

// reorder moves groups so that stable ones come first, swapping two
// neighbours only when every layer of one commutes with every layer of the
// other. It is a stable insertion sort on (volatility, -size): a group
// moves down past its neighbour only if it sorts strictly before it.
func (p *Plan) reorder(a *analyze.Analysis, previous []v1.Hash) {
	cm := newCommuter(a.Changesets)
	st := newStability(a, previous)
	moved := false
	for i := 1; i < len(p.Groups); i++ {
		for j := i; j > 0; j-- {
			lo, hi := p.Groups[j-1], p.Groups[j]
			if lo.Layers[0] < p.Base || hi.Layers[0] < p.Base {
				break
			}
			kl, kh := st.key(lo), st.key(hi)
			if !kh.before(kl) {
				break
			}
			ok, why := true, ""
			for _, x := range hi.Layers {
				if ok, why = cm.commutesAll(x, lo.Layers); !ok {
					break
				}
			}
			if !ok {
				p.Notes = append(p.Notes, fmt.Sprintf("keep %s above %s: %s would sort first (%s) but they do not commute (%s)", hi, lo, hi, kh.why, why))
				break
			}
			p.Groups[j-1], p.Groups[j] = hi, lo
			moved = true
			volatility := "it is more stable"
			if kh.volatile == kl.volatile {
				volatility = "it is as stable and larger"
			}
			p.Notes = append(p.Notes, fmt.Sprintf("move %s below %s: %s (%s; %s); safe: %s", hi, lo, volatility, kh.why, kl.why, why))
		}
	}
	if !moved {
		p.Notes = append(p.Notes, "reorder: the layers are already stable-first where they commute")
	}
}

// stability judges how often a group's layers change: layers of a
// previous build (or, without one, layers that install packages) are
// stable; the others volatile.
type stability struct {
	a        *analyze.Analysis
	previous []v1.Hash
	prev     map[v1.Hash]bool
	history  []analyze.HistoryEntry
	// aligned: the history lines up with the layers. Only then does it
	// decide: a guess must not move layers.
	aligned bool
}

func newStability(a *analyze.Analysis, previous []v1.Hash) *stability {
	s := &stability{a: a, previous: previous, prev: map[v1.Hash]bool{}}
	for _, h := range previous {
		s.prev[h] = true
	}
	s.history, s.aligned = analyze.HistoryByLayer(a.History(), len(a.Changesets))
	return s
}

// reorderKey is what reorder sorts groups by.
type reorderKey struct {
	volatile bool
	size     int64
	why      string
}

// before reports whether x sorts strictly before y: stable first, then
// larger first.
func (x reorderKey) before(y reorderKey) bool {
	if x.volatile != y.volatile {
		return !x.volatile
	}
	return x.size > y.size
}

func (s *stability) key(g Group) reorderKey {
	k := reorderKey{}
	var whys []string
	for _, l := range g.Layers {
		k.size += s.a.Image.Layers[l].Size
		switch {
		case len(s.previous) > 0 && s.prev[s.a.Image.Layers[l].DiffID]:
			whys = append(whys, fmt.Sprintf("layer %d is in a previous build", l))
		case len(s.previous) > 0:
			k.volatile = true
			whys = append(whys, fmt.Sprintf("layer %d is new in this build", l))
		case s.aligned && packageManager.MatchString(s.history[l].CreatedBy):
			whys = append(whys, fmt.Sprintf("layer %d installs packages", l))
		default:
			k.volatile = true
			whys = append(whys, fmt.Sprintf("layer %d holds application files", l))
		}
	}
	k.why = strings.Join(whys, ", ")
	return k
}
