package rules

import (
	"fmt"

	"github.com/layerlint/layerlint/overlay"
)

func overwrittenFiles() Rule {
	return Rule{
		ID:       "LL001",
		Name:     "overwritten-files",
		Severity: Warning,
		Summary:  "A file is written in one layer and overwritten with different content in a later one, so its bytes ship twice.",
		Doc: "Every layer is downloaded and stored whole: when a later layer replaces a file, the " +
			"earlier version still ships in its layer although no container can read it. Write the " +
			"file once, in its final form: generate it in the step that needs it, or merge the two " +
			"steps. Example: `COPY app.conf /etc/` followed by `RUN sed -i s/2/8/ /etc/app.conf` ships " +
			"app.conf twice; edit the file before copying it, or template it at start-up. A file of " +
			"1 MiB or more (LL008's minBytes) rewritten by a later layer is left to LL008, whose advice " +
			"fits a large file that keeps changing: its bytes are reported, and counted, once.",
		Check:   checkOverwritten,
		Saves:   true,
		Grouped: true,
	}
}

// checkOverwritten reports each overwritten version with bytes. Same-content
// overwrites are LL003's, which has a different fix; large files rewritten
// by a later layer are LL008's (largeModifications).
func checkOverwritten(f *Facts) []Finding {
	var out []Finding
	large := newLargeModifications(f)
	for _, w := range f.Waste {
		if w.Cause != overlay.CauseOverwritten || w.SameContent || w.Size == 0 {
			continue
		}
		if _, ok := large.claims(w); ok {
			continue
		}
		out = append(out, Finding{
			Rule:     "LL001",
			Severity: Warning,
			Message: fmt.Sprintf("%s (%d bytes) from layer %d is overwritten by layer %d; the old version still ships",
				abs(w.Path), w.Size, w.Layer, w.HiddenBy),
			Layer:     w.Layer,
			Path:      w.Path,
			Bytes:     w.Size,
			CreatedBy: f.createdBy(w.Layer),
			Fix:       fmt.Sprintf("write %s once in its final form, in a single step", abs(w.Path)),
		})
	}
	return sorted(out)
}
