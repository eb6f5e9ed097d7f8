package gate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/rules"
)

// BaselineVersion is the version of the baseline file format.
const BaselineVersion = 1

// Baseline records accepted findings so that a gate can be introduced on
// an image that already has some: only new findings fail. A finding is
// matched by rule, path and kind (its message with every number masked),
// never by layer index or digest, so rebuilding the image or adding a
// layer below does not make old findings new.
type Baseline struct {
	Version  int             `json:"version"`
	Findings []BaselineEntry `json:"findings"`

	// Name is the file it was read from, for reports.
	Name string `json:"-"`
	keys map[string]bool
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Rule string `json:"rule"`
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Message is the finding's message when it was recorded, for people;
	// matching ignores it.
	Message string `json:"message,omitempty"`
}

var numbers = regexp.MustCompile(`[0-9]+(\.[0-9]+)*`)

// Kind is a finding's message with every number replaced by "#": what
// the finding says without the sizes and layer indexes that change from
// build to build.
func Kind(message string) string { return numbers.ReplaceAllString(message, "#") }

// identity is the kind a finding is known by: Kind of its message with
// the related path (rules.Finding.Related) left out, so that a duplicate
// whose first copy moved is the same finding.
func identity(f rules.Finding) string {
	m := f.Message
	if f.Related != "" {
		if i := strings.LastIndex(m, f.Related); i >= 0 {
			m = m[:i] + "…" + m[i+len(f.Related):]
		}
	}
	return Kind(m)
}

func baselineKey(rule, path, kind string) string { return rule + "\x00" + path + "\x00" + kind }

// Fingerprint identifies a finding across rebuilds, from the same parts
// the baseline matches on.
func Fingerprint(f rules.Finding) string {
	sum := sha256.Sum256([]byte(baselineKey(f.Rule, f.Path, identity(f))))
	return hex.EncodeToString(sum[:8])
}

// Has reports whether the baseline records f. A nil baseline records
// nothing.
func (b *Baseline) Has(f rules.Finding) bool {
	if b == nil {
		return false
	}
	// Baselines written before identity left the related path out
	// recorded the whole message's kind.
	return b.keys[baselineKey(f.Rule, f.Path, identity(f))] || b.keys[baselineKey(f.Rule, f.Path, Kind(f.Message))]
}

func (b *Baseline) index() {
	b.keys = map[string]bool{}
	for _, e := range b.Findings {
		// Paths are written as the container sees them; files from
		// before version 2 of the report have them relative.
		b.keys[baselineKey(e.Rule, strings.TrimPrefix(e.Path, "/"), e.Kind)] = true
	}
}

// ReadBaseline parses a baseline written by WriteBaseline; name is used in
// errors.
func ReadBaseline(r io.Reader, name string) (*Baseline, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("reading baseline %s: %w", name, err)
	}
	if b.Version != BaselineVersion {
		return nil, fmt.Errorf("baseline %s: version %d: this layerlint reads version %d", name, b.Version, BaselineVersion)
	}
	b.Name = name
	b.index()
	return &b, nil
}

// NewBaseline records the findings of results that a baseline may accept:
// those of the rules (not thresholds or dive rules, which are policy) that
// no suppression already accepts. Entries are sorted and unique.
func NewBaseline(results ...*Result) *Baseline {
	b := &Baseline{Version: BaselineVersion, Findings: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, r := range results {
		for _, f := range r.Findings {
			if f.Suppressed != nil || isGateRule(f.Rule) {
				continue
			}
			e := BaselineEntry{Rule: f.Rule, Path: displayPath(f.Path), Kind: identity(f.Finding), Message: f.Message}
			k := baselineKey(e.Rule, e.Path, e.Kind)
			if seen[k] {
				continue
			}
			seen[k] = true
			b.Findings = append(b.Findings, e)
		}
	}
	slices.SortFunc(b.Findings, func(x, y BaselineEntry) int {
		return cmp.Or(strings.Compare(x.Rule, y.Rule), strings.Compare(x.Path, y.Path), strings.Compare(x.Kind, y.Kind))
	})
	b.index()
	return b
}

// WriteBaseline writes b as indented JSON.
func WriteBaseline(w io.Writer, b *Baseline) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return fmt.Errorf("writing baseline: %w", err)
	}
	return nil
}
