package format

import (
	"io"
	"strings"

	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// writeGitHub writes GitHub Actions workflow commands: one annotation per
// finding that is not accepted (accepted findings would only add noise to
// the pull request), then a notice with the verdict.
func writeGitHub(w io.Writer, results []*gate.Result) error {
	ew := textfmt.NewWriter(w)
	for _, r := range results {
		img := imageName(r)
		for _, f := range r.Findings {
			if f.Accepted() {
				continue
			}
			props := []string{}
			if f.Location != nil {
				props = append(props, "file="+escape.GitHubProperty(f.Location.Dockerfile), "line="+itoa(f.Location.Line))
			}
			props = append(props, "title="+escape.GitHubProperty(f.Rule+" "+f.Name))
			lines := []string{f.Message + " [" + img + " " + imagePath(f) + "]"}
			if f.Fix != "" {
				lines = append(lines, "Fix: "+f.Fix)
			}
			ew.Printf("::%s %s::%s\n", ghCommand(f.Severity), strings.Join(props, ","), escape.GitHubLines(lines...))
		}
		ew.Printf("::notice title=%s::%s\n", escape.GitHubProperty("layerlint "+r.Summary.Result.String()),
			escape.GitHubData(img+": "+verdictLine(r.Summary)+"; "+totals(r.Summary)))
	}
	return ew.Err
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
