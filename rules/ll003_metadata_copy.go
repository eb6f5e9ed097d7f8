package rules

import (
	"fmt"

	"github.com/layerlint/layerlint/overlay"
)

func metadataOnlyCopies() Rule {
	return Rule{
		ID:       "LL003",
		Name:     "metadata-only-copy",
		Severity: Warning,
		Summary:  "A layer copies a file again with the same bytes only to change its mode, owner or time.",
		Doc: "Layers record whole files, not attribute changes: `chmod`, `chown` or `touch` in a " +
			"later step copies every file it touches into the new layer, so its bytes ship twice. " +
			"Set the attributes when the file is added instead. Example: `COPY tool /usr/bin/` then " +
			"`RUN chmod 0700 /usr/bin/tool` ships tool twice; write `COPY --chmod=0700 tool /usr/bin/` " +
			"(or `--chown=` for owners), or run the chmod in the same RUN that creates the file.",
		Check:   checkMetadataOnly,
		Saves:   true,
		Grouped: true,
	}
}

// checkMetadataOnly reports at the layer that made the copy: that is the
// step to change.
func checkMetadataOnly(f *Facts) []Finding {
	var out []Finding
	for _, w := range f.Waste {
		if w.Cause != overlay.CauseOverwritten || !w.SameContent || w.Size == 0 {
			continue
		}
		out = append(out, Finding{
			Rule:     "LL003",
			Severity: Warning,
			Message: fmt.Sprintf("%s (%d bytes) is copied again unchanged by layer %d to change only its metadata; layer %d's copy still ships",
				abs(w.Path), w.Size, w.HiddenBy, w.Layer),
			Layer:     w.HiddenBy,
			Path:      w.Path,
			Bytes:     w.Size,
			CreatedBy: f.createdBy(w.HiddenBy),
			Fix:       fmt.Sprintf("set the mode or owner of %s where it is added (COPY --chmod=... --chown=...), or in the same RUN that creates it", abs(w.Path)),
		})
	}
	return sorted(out)
}
