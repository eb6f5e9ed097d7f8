package gate

import (
	"fmt"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

// dive applies the .dive-ci rules to dive's metrics with dive's
// comparisons. The raw floats are used, not the report's nullable ones,
// because dive compares NaN (always passes) and +Inf (fails a maximum).
func (g *Gate) dive(a *analyze.Analysis, res *Result) []rules.Finding {
	d := g.opts.DiveCI
	if d == nil {
		return nil
	}
	m := a.Dive
	var out []rules.Finding
	check := func(id string, lim config.DiveLimit, failed bool, metric, cmp string, value float64, fix string) {
		if !lim.Enabled {
			return
		}
		where := "dive's default"
		if lim.Line > 0 {
			where = fmt.Sprintf("%s line %d", d.File, lim.Line)
		}
		measured := fmt.Sprintf("%s %s; threshold %s (%s)", metric, formatFloat(value), formatFloat(lim.Value), where)
		res.Rules[g.byKey[id]].Measured = measured
		if failed {
			out = append(out, rules.Finding{Rule: id, Severity: rules.Error, Layer: rules.ImageWide,
				Message: fmt.Sprintf("%s %s is %s the threshold %s (%s)", metric, formatFloat(value), cmp, formatFloat(lim.Value), where),
				Fix:     fix})
		}
	}
	check(IDDiveLowestEfficiency, d.LowestEfficiency, d.LowestEfficiency.Value > m.Efficiency,
		"efficiency", "below", m.Efficiency, "remove the waste that layerlint's findings point at")
	check(IDDiveHighestWastedBytes, d.HighestWastedBytes, float64(m.WastedBytes) > d.HighestWastedBytes.Value,
		"wastedBytes", "above", float64(m.WastedBytes), "remove the waste that layerlint's findings point at")
	check(IDDiveHighestUserWastedPercent, d.HighestUserWastedPercent, m.UserWastedPercent > d.HighestUserWastedPercent.Value,
		"userWastedPercent", "above", m.UserWastedPercent, "remove the waste that layerlint's findings point at")
	return out
}
