package rules

import (
	"fmt"
	"github.com/layerlint/layerlint/analyze"

	"github.com/layerlint/layerlint/overlay"
)

func layerHygiene() Rule {
	return Rule{
		ID:       "LL011",
		Name:     "layer-hygiene",
		Severity: Info,
		Summary:  "Layers that ship nothing, too many layers, one layer holding most of what the image adds, or whiteouts that delete nothing.",
		Doc: "Each layer costs a blob, a registry request and an overlay mount, whatever it holds. " +
			"A layer with no entries still ships a compressed tar: most builders record steps " +
			"that change no files (ENV, LABEL, WORKDIR of an existing directory) as history " +
			"only, so an empty blob points at a tool that does not. More than 50 layers (the " +
			"threshold is an option) slows pulls and container start; merge RUN steps with `&&` " +
			"and use multi-stage builds. A whiteout of a path that no lower layer has deletes " +
			"nothing: it is a sign that the layer was built on a different parent than the one it " +
			"now sits on (a rebase onto a new base, layers spliced by hand) or by a tool that records " +
			"deletes blindly, and its deletes may no longer remove what was meant. Rebuild the " +
			"layer on its real parent. Example: an app layer that deleted /etc/motd from its old " +
			"base, rebased onto a base without that file. When one layer holds 80% or more of what " +
			"the layers above the base add (and that is at least 10 MB), every change to it ships " +
			"all of it again and no build cache helps: split stable dependencies (packages, " +
			"libraries) from the application code that changes on every build.",
		Check: checkHygiene,
		Options: []RuleOption{{
			Name: "maxLayers", Type: OptionInt, Default: "50",
			Doc: "how many layers the image may have",
			Apply: func(o *Options, v OptionValue) error {
				if v.Int < 1 {
					return errWantAtLeastOne
				}
				o.MaxLayers = int(v.Int)
				return nil
			},
		}},
	}
}

func checkHygiene(f *Facts) []Finding {
	var out []Finding
	if f.Report != nil {
		for _, l := range f.Report.Layers {
			if !l.Analyzed || l.Entries != 0 || l.ContentBytes != 0 || l.CompressedSize == 0 {
				continue
			}
			out = append(out, Finding{
				Rule:      "LL011",
				Severity:  Info,
				Message:   fmt.Sprintf("layer %d has no entries but ships a %d-byte blob", l.Index, l.CompressedSize),
				Layer:     l.Index,
				Bytes:     l.CompressedSize,
				CreatedBy: l.CreatedBy,
				Fix:       "build with a tool that records steps without file changes as history only, or drop the step",
			})
		}
		if d, ok := dominantLayer(f); ok {
			out = append(out, d)
		}
		if n := len(f.Report.Layers); n > f.Options.MaxLayers {
			out = append(out, Finding{
				Rule:     "LL011",
				Severity: Info,
				Message:  fmt.Sprintf("the image has %d layers, more than %d", n, f.Options.MaxLayers),
				Layer:    ImageWide,
				Fix:      "merge RUN steps with && and copy build results from another stage",
			})
		}
	}
	for _, a := range f.Model.Anomalies() {
		switch a.Kind {
		case overlay.AnomalyWhiteoutHidesNothing:
			out = append(out, Finding{
				Rule:      "LL011",
				Severity:  Info,
				Message:   fmt.Sprintf("layer %d deletes %s, which no lower layer has", a.Layer, abs(a.Path)),
				Layer:     a.Layer,
				Path:      a.Path,
				CreatedBy: f.createdBy(a.Layer),
				Fix:       fmt.Sprintf("drop the command that removes %s", abs(a.Path)),
			})
		case overlay.AnomalyOpaqueHidesNothing, overlay.AnomalyAUFSMetadata, overlay.AnomalyBadWhiteout,
			overlay.AnomalyHardlinkTarget, overlay.AnomalyIgnoredEntry, overlay.AnomalyRootEntry:
			// Builders emit these routinely or they are reported by
			// analyze itself; they cost nothing to the image's users.
		}
	}
	return sorted(out)
}

// Thresholds of the dominant-layer check of LL011: a layer that holds at
// least DominantLayerShare of the content above the base, when that content
// is at least DominantLayerMinBytes (below it, the split buys too little to
// be worth a finding).
const (
	DominantLayerShare          = 0.8
	DominantLayerMinBytes int64 = 10_000_000
)

// dominantLayer reports the layer above the base that holds most of what
// the image adds, when there are at least two such layers.
func dominantLayer(f *Facts) (Finding, bool) {
	var user []analyze.LayerInfo
	var total int64
	for _, l := range f.Report.Layers {
		if l.Base || !l.Analyzed {
			continue
		}
		user = append(user, l)
		total += l.ContentBytes
	}
	if len(user) < 2 || total < DominantLayerMinBytes {
		return Finding{}, false
	}
	big := user[0]
	for _, l := range user[1:] {
		if l.ContentBytes > big.ContentBytes {
			big = l
		}
	}
	share := float64(big.ContentBytes) / float64(total)
	if share < DominantLayerShare {
		return Finding{}, false
	}
	return Finding{
		Rule:     "LL011",
		Severity: Info,
		Message: fmt.Sprintf("layer %d holds %.0f%% (%d bytes) of the %d bytes the layers above the base add; any change to it ships all of it again",
			big.Index, share*100, big.ContentBytes, total),
		Layer:     big.Index,
		Bytes:     big.ContentBytes,
		CreatedBy: big.CreatedBy,
		Fix:       "split the step: install dependencies that rarely change in a layer of their own, before the application",
	}, true
}
