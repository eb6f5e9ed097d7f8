package diff

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

// ErrGate is wrapped by errors about gate settings.
var ErrGate = errors.New("invalid gate")

// Growth is a limit on how much the layers above the base may grow: an
// absolute byte count or a ratio of their old size.
type Growth struct {
	Bytes *int64
	Ratio *float64
}

// ParseGrowth reads a size ("5MB", "1048576", "1.5MiB") or a percentage
// ("10%") as in .layerlint.yaml (docs/config.md).
func ParseGrowth(s string) (Growth, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "%") {
		// Not config.ParseRatio: growth may exceed 100%.
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return Growth{}, fmt.Errorf("max-growth %q: want a percentage of 0%% or more: %w", s, ErrGate)
		}
		f /= 100
		return Growth{Ratio: &f}, nil
	}
	n, err := config.ParseSize(s)
	if err != nil {
		return Growth{}, fmt.Errorf("max-growth %q: want BYTES (5MB, 4MiB, 1048576) or PERCENT (10%%): %w: %w", s, err, ErrGate)
	}
	return Growth{Bytes: &n}, nil
}

func (g Growth) String() string {
	switch {
	case g.Bytes != nil:
		return analyze.Bytes(*g.Bytes)
	case g.Ratio != nil:
		return strconv.FormatFloat(*g.Ratio*100, 'f', -1, 64) + "%"
	}
	return "none"
}

// Gates are the checks Judge applies. The zero value checks nothing.
type Gates struct {
	// MaxGrowth limits the growth of the download size of the layers
	// above the base: the author's part, so that an upstream base update
	// does not fail a pull request. Nil: not checked.
	MaxGrowth *Growth
	// FailOnNew fails when a new finding, not accepted, has this severity
	// or a more severe one; zero: not checked.
	FailOnNew rules.Severity
}

// Verdict is the outcome of the gates.
type Verdict struct {
	// Result is pass or fail.
	Result string  `json:"result"`
	Checks []Check `json:"checks"`
}

// Check is one gate as applied.
type Check struct {
	// Name is max-growth or fail-on-new.
	Name     string `json:"name"`
	Limit    string `json:"limit"`
	Measured string `json:"measured"`
	Failed   bool   `json:"failed"`
}

// Judge applies g to r, records the verdict in r.Verdict and returns it.
func (r *Result) Judge(g Gates) *Verdict {
	v := &Verdict{Result: "pass", Checks: []Check{}}
	if m := g.MaxGrowth; m != nil {
		d := r.Above.Compressed
		c := Check{Name: "max-growth", Limit: m.String() + " above the base (download size)",
			Measured: signedBytes(d.Delta) + " above the base (" + analyze.Bytes(d.Old) + " → " + analyze.Bytes(d.New) + ")"}
		switch {
		case m.Bytes != nil:
			c.Failed = d.Delta > *m.Bytes
		case m.Ratio != nil:
			if d.Old > 0 {
				ratio := float64(d.Delta) / float64(d.Old)
				c.Measured += ", " + signedPercent(ratio)
				c.Failed = ratio > *m.Ratio
			} else {
				// Nothing above the base before: any growth is infinite.
				c.Failed = d.Delta > 0
			}
		}
		v.Checks = append(v.Checks, c)
	}
	if g.FailOnNew != 0 {
		c := Check{Name: "fail-on-new", Limit: "no new finding at " + g.FailOnNew.String() + " or above"}
		if r.Findings == nil {
			c.Measured = "findings not compared"
		} else {
			n := 0
			for _, f := range r.Findings.New {
				if !f.Accepted() && f.Severity <= g.FailOnNew {
					n++
				}
			}
			c.Measured = plural(n, "new finding", "new findings") + " at " + g.FailOnNew.String() + " or above"
			c.Failed = n > 0
		}
		v.Checks = append(v.Checks, c)
	}
	for _, c := range v.Checks {
		if c.Failed {
			v.Result = "fail"
		}
	}
	r.Verdict = v
	return v
}

// Failed reports whether a verdict was judged and failed.
func (r *Result) Failed() bool { return r.Verdict != nil && r.Verdict.Result == "fail" }

func signedBytes(n int64) string {
	switch {
	case n > 0:
		return "+" + analyze.Bytes(n)
	case n < 0:
		return "-" + analyze.Bytes(-n)
	}
	return "±0 B"
}

func signedPercent(f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
	if f > 0 {
		s = "+" + s
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func itoa(n int) string { return strconv.Itoa(n) }
