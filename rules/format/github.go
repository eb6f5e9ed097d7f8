package format

import (
	"io"
	"strings"

	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// writeGitHub writes GitHub Actions workflow commands: one annotation per
// finding that is not accepted (accepted findings would only add noise to
// the pull request), then a notice with the verdict.
func writeGitHub(w io.Writer, results []*gate.Result) error {
	ew := &errWriter{w: w}
	for _, r := range results {
		img := imageName(r)
		for _, f := range r.Findings {
			if f.Accepted() {
				continue
			}
			props := []string{}
			if f.Location != nil {
				props = append(props, "file="+ghProperty(f.Location.Dockerfile), "line="+itoa(f.Location.Line))
			}
			props = append(props, "title="+ghProperty(f.Rule+" "+f.Name))
			msg := f.Message + " [" + img + " " + imagePath(f) + "]"
			if f.Fix != "" {
				msg += "\nFix: " + f.Fix
			}
			ew.printf("::%s %s::%s\n", ghCommand(f.Severity), strings.Join(props, ","), ghData(msg))
		}
		ew.printf("::notice title=%s::%s\n", ghProperty("layerlint "+r.Summary.Result.String()),
			ghData(img+": "+verdictLine(r.Summary)+"; "+totals(r.Summary)))
	}
	return ew.err
}

func ghCommand(s rules.Severity) string {
	switch s {
	case rules.Error:
		return "error"
	case rules.Warning:
		return "warning"
	case rules.Info:
		return "notice"
	}
	return "notice"
}

// ghData escapes a command's message as the runner expects
// (actions/toolkit escapeData).
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a property value (actions/toolkit escapeProperty):
// also ":" and ",", which separate properties.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
