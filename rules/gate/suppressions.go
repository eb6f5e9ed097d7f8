package gate

import (
	"fmt"
	"strconv"
	"time"

	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

type suppression struct {
	config.Suppression
	ruleID  string
	expired bool
}

func (g *Gate) suppressedBy(f *rules.Finding) *Suppressed {
	for _, s := range g.supps {
		if s.expired || s.ruleID != f.Rule {
			continue
		}
		if s.Path != nil && !s.Path.Match(f.Path) {
			continue
		}
		if s.Layer != nil && *s.Layer != f.Layer {
			continue
		}
		if s.CreatedBy != nil && !s.CreatedBy.MatchString(f.CreatedBy) {
			continue
		}
		out := &Suppressed{Reason: s.Reason, Source: g.opts.Config.File + ":" + strconv.Itoa(s.Line)}
		if s.Expires != nil {
			out.Expires = s.Expires.String()
		}
		return out
	}
	return nil
}

// expired reports each suppression past its date.
func (g *Gate) expired(res *Result) []rules.Finding {
	var out []rules.Finding
	for _, s := range g.supps {
		if !s.expired {
			continue
		}
		what := s.ruleID
		if s.Path != nil {
			what += " on " + s.Path.String()
		}
		out = append(out, rules.Finding{
			Rule:     IDExpiredSuppression,
			Severity: rules.Warning,
			Message: fmt.Sprintf("%s line %d: the suppression of %s expired on %s and no longer applies (its reason: %s)",
				g.opts.Config.File, s.Line, what, s.Expires, s.Reason),
			Layer: rules.ImageWide,
			Fix:   "fix the findings it covered, or renew the suppression with a new reason and expires date",
		})
	}
	if len(g.supps) > 0 {
		res.Rules[g.byKey[IDExpiredSuppression]].Measured = fmt.Sprintf("%d suppressions checked on %s", len(g.supps), g.opts.Now.UTC().Format(time.DateOnly))
	}
	return out
}
