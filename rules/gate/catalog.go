package gate

import (
	"strings"

	"github.com/layerlint/layerlint/rules"
)

// IDs of the rules the gate itself evaluates. LL100-LL199 are reserved for
// them so that they never collide with the rules of package rules; the
// dive/ rules keep the names dive users know from their .dive-ci.
const (
	IDMaxWastedBytes     = "LL100"
	IDMinEfficiency      = "LL101"
	IDMaxUserWastedRatio = "LL102"
	IDMaxImageSize       = "LL103"
	IDMaxLayers          = "LL104"
	IDExpiredSuppression = "LL190"

	IDDiveLowestEfficiency         = "dive/lowestEfficiency"
	IDDiveHighestWastedBytes       = "dive/highestWastedBytes"
	IDDiveHighestUserWastedPercent = "dive/highestUserWastedPercent"
)

// gateRules are the rules evaluated by the gate from the report rather
// than by package rules from the facts: their Check is nil.
func gateRules() []rules.Rule {
	return []rules.Rule{
		{
			ID: IDMaxWastedBytes, Name: "max-wasted-bytes", Severity: rules.Error,
			Summary: "The layers above the base waste more than thresholds.maxWastedBytes allows.",
			Doc: "Checked only when `thresholds.maxWastedBytes` is set in .layerlint.yaml. It counts the " +
				"waste that the image's own layers shipped or caused (`summary.userWastedBytes`): bytes " +
				"of the base image hidden by a later layer count, bytes the base hides in itself do not, " +
				"since rebuilding the image cannot remove them. `absolute` limits the bytes, `relative` " +
				"their share of the bytes added above the base; with both, the check fails only when both " +
				"are exceeded, so one setting suits small and large images alike. Example: " +
				"`maxWastedBytes: {absolute: 10MB, relative: 5%}`. Fix the findings of LL001-LL003, which " +
				"say where the bytes are.",
		},
		{
			ID: IDMinEfficiency, Name: "min-efficiency", Severity: rules.Error,
			Summary: "The image's efficiency (merged bytes over content bytes) is below thresholds.minEfficiency.",
			Doc: "Checked only when `thresholds.minEfficiency` is set. Efficiency is layerlint's own: the " +
				"bytes of the final view over the bytes all layers ship (`summary.efficiency`), so 1 means " +
				"no layer ships a byte that a container cannot see. It includes the base image's own " +
				"waste; use LL100 or LL102 to judge only what the image adds. Example: `minEfficiency: 95%`.",
		},
		{
			ID: IDMaxUserWastedRatio, Name: "max-user-wasted-ratio", Severity: rules.Error,
			Summary: "The share of bytes added above the base that are wasted exceeds thresholds.maxUserWastedRatio.",
			Doc: "Checked only when `thresholds.maxUserWastedRatio` is set: wasted bytes above the base " +
				"over content bytes above the base (`summary.userWastedRatio`). Not checked when nothing " +
				"was added above the base. Example: `maxUserWastedRatio: 10%`. Unlike dive's " +
				"userWastedPercent it does not count the kept copy of a changed file as waste.",
		},
		{
			ID: IDMaxImageSize, Name: "max-image-size", Severity: rules.Error,
			Summary: "The image's download size (compressed layers) exceeds thresholds.maxImageSize.",
			Doc: "Checked only when `thresholds.maxImageSize` is set. The size is the sum of the " +
				"compressed layer blobs, what a pull downloads on an empty cache. Example: " +
				"`maxImageSize: 200MB`. Start with the largest layers of `layerlint analyze`.",
		},
		{
			ID: IDMaxLayers, Name: "max-layers", Severity: rules.Error,
			Summary: "The image has more layers than thresholds.maxLayers.",
			Doc: "Checked only when `thresholds.maxLayers` is set. Each layer costs a blob, a request and " +
				"an overlay mount. LL011 reports a high layer count as information; this threshold makes " +
				"it a gate. Merge RUN steps and copy build results from another stage.",
		},
		{
			ID: IDExpiredSuppression, Name: "expired-suppression", Severity: rules.Warning,
			Summary: "A suppression in .layerlint.yaml has passed its expires date and no longer applies.",
			Doc: "A suppression with `expires: YYYY-MM-DD` accepts findings until the end of that day " +
				"(UTC). After it, the findings it covered count again, and this finding says so once per " +
				"expired suppression, naming the line of the configuration. Fix the findings, or renew " +
				"the suppression with a new date and reason.",
		},
		{
			ID: IDDiveLowestEfficiency, Name: "dive-lowest-efficiency", Severity: rules.Error,
			Summary: "dive's efficiency metric is below the .dive-ci lowestEfficiency.",
			Doc: "Evaluated from a .dive-ci (`--dive-ci FILE`, or one found beside .layerlint.yaml) exactly " +
				"as dive's CI mode does: it fails when the threshold is greater than dive's efficiency " +
				"(`dive.efficiency` of the report, computed by dive's formulas). dive's default is 0.9; " +
				"`disabled`, `off`, `false` or an empty value skip it.",
		},
		{
			ID: IDDiveHighestWastedBytes, Name: "dive-highest-wasted-bytes", Severity: rules.Error,
			Summary: "dive's wastedBytes metric exceeds the .dive-ci highestWastedBytes.",
			Doc: "Evaluated from a .dive-ci as dive does: it fails when dive's wastedBytes (which counts " +
				"the kept copy of a changed file too) is greater than the threshold. Sizes take SI units, " +
				"case-insensitive (`20Mb` is 20,000,000 bytes) or IEC units (`20MiB`). Disabled by default.",
		},
		{
			ID: IDDiveHighestUserWastedPercent, Name: "dive-highest-user-wasted-percent", Severity: rules.Error,
			Summary: "dive's userWastedPercent metric exceeds the .dive-ci highestUserWastedPercent.",
			Doc: "Evaluated from a .dive-ci as dive does: it fails when dive's userWastedPercent, a ratio " +
				"(wasted bytes over the bytes of every layer but the first), is greater than the threshold. " +
				"dive's default is 0.1. An image with one layer has no ratio (dive's NaN) and passes.",
		},
	}
}

// Catalog returns every rule a lint can report: those of package rules, in
// their order, then the gate's own. It is what the docs, SARIF and JUnit
// outputs list.
func Catalog() []rules.Rule {
	return append(rules.All(), gateRules()...)
}

// IsDive reports whether id is one of the .dive-ci rules.
func IsDive(id string) bool { return strings.HasPrefix(id, "dive/") }

// isGateRule reports whether the gate evaluates id itself; such findings
// are about policy, so the baseline never records them.
func isGateRule(id string) bool {
	for _, r := range gateRules() {
		if r.ID == id {
			return true
		}
	}
	return false
}

// DocFile is the name of a rule's page in docs/rules: its ID, with the
// slash of dive/ IDs made a dash.
func DocFile(id string) string { return strings.ReplaceAll(id, "/", "-") + ".md" }
