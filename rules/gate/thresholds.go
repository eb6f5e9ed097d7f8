package gate

import (
	"math"
	"strconv"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

func (g *Gate) markUnconfigured(t config.Thresholds, d *config.DiveCI) {
	unset := map[string]bool{
		IDMaxWastedBytes:     t.MaxWastedBytes == nil,
		IDMinEfficiency:      t.MinEfficiency == nil,
		IDMaxUserWastedRatio: t.MaxUserWastedRatio == nil,
		IDMaxImageSize:       t.MaxImageSize == nil,
		IDMaxLayers:          t.MaxLayers == nil,

		IDDiveLowestEfficiency:         d == nil || !d.LowestEfficiency.Enabled,
		IDDiveHighestWastedBytes:       d == nil || !d.HighestWastedBytes.Enabled,
		IDDiveHighestUserWastedPercent: d == nil || !d.HighestUserWastedPercent.Enabled,
	}
	for id, u := range unset {
		if u {
			g.status[g.byKey[id]] = NotConfigured
		}
	}
}

// thresholds checks the configured image-wide limits.
func (g *Gate) thresholds(r *analyze.Report, res *Result) []rules.Finding {
	if r == nil {
		return nil
	}
	t := config.Thresholds{}
	if g.opts.Config != nil {
		t = g.opts.Config.Thresholds
	}
	s := r.Summary
	var out []rules.Finding
	check := func(id string, failed bool, measured, msg, fix string, bytes int64) {
		res.Rules[g.byKey[id]].Measured = measured
		if failed {
			out = append(out, rules.Finding{Rule: id, Severity: rules.Error, Message: msg, Layer: rules.ImageWide, Bytes: bytes, Fix: fix})
		}
	}
	if w := t.MaxWastedBytes; w != nil {
		var limits []string
		failed := true
		if w.Absolute != nil {
			limits = append(limits, analyze.Bytes(int64(*w.Absolute)))
			failed = failed && s.UserWastedBytes > int64(*w.Absolute)
		}
		if w.Relative != nil {
			limits = append(limits, textfmt.Percent(float64(*w.Relative))+" of the bytes added")
			failed = failed && s.UserWastedRatio != nil && *s.UserWastedRatio > float64(*w.Relative)
		}
		measured := analyze.Bytes(s.UserWastedBytes) + " wasted above the base"
		if s.UserWastedRatio != nil {
			measured += " (" + textfmt.Percent(*s.UserWastedRatio) + " of " + analyze.Bytes(s.UserContentBytes) + " added)"
		}
		measured += "; limit " + strings.Join(limits, " and ")
		check(IDMaxWastedBytes, failed, measured, measured+": over the limit",
			"remove the waste that LL001-LL003 point at", s.UserWastedBytes)
	}
	if m := t.MinEfficiency; m != nil {
		measured := "efficiency " + textfmt.Percent(s.Efficiency) + "; lowest allowed " + textfmt.Percent(float64(*m))
		check(IDMinEfficiency, s.Efficiency < float64(*m), measured, measured+": below the limit",
			"remove the waste that LL001-LL003 point at", s.WastedBytes)
	}
	if m := t.MaxUserWastedRatio; m != nil {
		measured := "nothing added above the base"
		failed := false
		if s.UserWastedRatio != nil {
			measured = textfmt.Percent(*s.UserWastedRatio) + " of the bytes added above the base are wasted; limit " + textfmt.Percent(float64(*m))
			failed = *s.UserWastedRatio > float64(*m)
		}
		check(IDMaxUserWastedRatio, failed, measured, measured+": over the limit",
			"remove the waste that LL001-LL003 point at", s.UserWastedBytes)
	}
	if m := t.MaxImageSize; m != nil {
		measured := "download size " + analyze.Bytes(s.CompressedSize) + "; limit " + analyze.Bytes(int64(*m))
		check(IDMaxImageSize, s.CompressedSize > int64(*m), measured, measured+": over the limit",
			"start with the largest layers of layerlint analyze; use a smaller base or a multi-stage build", s.CompressedSize)
	}
	if m := t.MaxLayers; m != nil {
		measured := strconv.Itoa(s.Layers) + " layers; limit " + strconv.Itoa(*m)
		check(IDMaxLayers, s.Layers > *m, measured, measured+": over the limit",
			"merge RUN steps with && and copy build results from another stage", 0)
	}
	return out
}

func formatFloat(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
