package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/overlay"
)

func dataUnderVolume() Rule {
	return Rule{
		ID:       "LL007",
		Name:     "data-under-volume",
		Severity: Warning,
		Summary:  "The image ships files under a path its config declares as a VOLUME.",
		Doc: "A VOLUME is mounted over the image's path when a container starts: a named or bind " +
			"mount hides the image's files there entirely, and a new anonymous volume gets a copy " +
			"of them, once, so later image updates never reach it. With the classic builder, " +
			"steps after the VOLUME instruction that write there are discarded. Either way the " +
			"shipped files are dead weight or a source of surprise. Keep the path empty in the " +
			"image and create its content at start-up (an entrypoint that seeds an empty " +
			"volume), or drop the VOLUME if the files are really part of the image. Example: " +
			"`COPY data/ /app/data/` with `VOLUME /app/data`: move the seed files to " +
			"/app/seed and copy them into /app/data on first start.",
		Check: checkVolumeData,
		Saves: true,
	}
}

// checkVolumeData reports one finding per volume that holds anything but
// directories. A file under nested volumes counts for the deepest.
func checkVolumeData(f *Facts) []Finding {
	vols := volumes(f)
	var out []Finding
	for _, v := range vols {
		var entries int
		var bytes int64
		var layers []int
		for _, fl := range f.Files {
			if fl.Type == overlay.TypeDir || !strings.HasPrefix(fl.Path, v+"/") || deepestVolume(fl.Path, vols) != v {
				continue
			}
			entries++
			bytes += fl.Size
			if !slices.Contains(layers, fl.Layer) {
				layers = append(layers, fl.Layer)
			}
		}
		if entries == 0 {
			continue
		}
		slices.Sort(layers)
		last := layers[len(layers)-1]
		out = append(out, Finding{
			Rule:     "LL007",
			Severity: Warning,
			Message: fmt.Sprintf("VOLUME %s: the image ships %s (%d bytes) there from %s; a mounted volume hides them",
				abs(v), textfmt.Plural(entries, "entry", "entries"), bytes, layerList(layers)),
			Layer:     last,
			Path:      v,
			Bytes:     bytes,
			CreatedBy: f.createdBy(last),
			Fix:       fmt.Sprintf("keep %s empty in the image and seed it at start-up, or drop the VOLUME", abs(v)),
		})
	}
	return sorted(out)
}

// deepestVolume returns the longest volume that p is strictly under.
func deepestVolume(p string, vols []string) string {
	best := ""
	for _, v := range vols {
		if strings.HasPrefix(p, v+"/") && len(v) > len(best) {
			best = v
		}
	}
	return best
}
