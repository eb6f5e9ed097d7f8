package analyze

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze/source"
)

// TestLayerHistory: entries marked empty_layer make no layer (image-spec
// config.md, history); a short or long history pairs what it can and is
// not aligned.
func TestHistoryByLayer(t *testing.T) {
	t.Parallel()
	img := func(layers int, hist ...v1.History) *source.Image {
		return &source.Image{Layers: make([]*source.Layer, layers), Config: &v1.ConfigFile{History: hist}}
	}
	run := v1.History{CreatedBy: "RUN x"}
	env := v1.History{CreatedBy: "ENV a=b", EmptyLayer: true}
	tests := []struct {
		name    string
		img     *source.Image
		want    []string
		aligned bool
	}{
		{"aligned", img(2, run, env, v1.History{CreatedBy: "COPY . /"}), []string{"RUN x", "COPY . /"}, true},
		{"short", img(2, env, run), []string{"RUN x", ""}, false},
		{"long", img(1, run, run), []string{"RUN x"}, false},
		{"no config", &source.Image{Layers: make([]*source.Layer, 1)}, []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			by, aligned := HistoryByLayer(HistoryOf(tt.img), len(tt.img.Layers))
			if aligned != tt.aligned {
				t.Errorf("aligned = %v, want %v", aligned, tt.aligned)
			}
			for i, e := range by {
				if e.CreatedBy != tt.want[i] {
					t.Errorf("layer %d: %q, want %q", i, e.CreatedBy, tt.want[i])
				}
				if e.CreatedBy != "" && e.Layer != i {
					t.Errorf("layer %d: entry says layer %d", i, e.Layer)
				}
			}
		})
	}
}
