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
// group of findings (gate.Group) that is not accepted, failing ones first,
// then by bytes saved, the base image's last (a run shows only the first
// few annotations of each kind, and accepted findings would only add
// noise to the pull request), then a notice with the verdict.
func writeGitHub(w io.Writer, results []*gate.Result) error {
	ew := textfmt.NewWriter(w)
	for _, r := range results {
		img := imageName(r)
		for _, g := range topGroups(groupsOf(r)) {
			if g.Accepted {
				continue
			}
			props := []string{}
			if g.Location != nil {
				props = append(props, "file="+escape.GitHubProperty(g.Location.Dockerfile), "line="+itoa(g.Location.Line))
			}
			props = append(props, "title="+escape.GitHubProperty(g.Rule+" "+g.Name))
			where := g.Path
			if where == "" {
				where = layerLabel(g.Layer)
			}
			lines := []string{g.Message + " [" + img + " " + where + "]"}
			if g.Findings > 1 {
				lines = append(lines, "Largest: "+strings.Join(g.Largest, ", "))
			}
			if g.Fix != "" {
				lines = append(lines, "Fix: "+g.Fix)
			}
			ew.Printf("::%s %s::%s\n", ghCommand(g.Severity), strings.Join(props, ","), escape.GitHubLines(lines...))
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
