package analyze_test

import (
	"testing"

	"github.com/layerlint/layerlint/analyze"
)

// TestBaseFrom: an unset base is the default of one layer; a base the
// caller chose is taken as it is, 0 included.
func TestBaseFrom(t *testing.T) {
	t.Parallel()
	dir := sampleLayout(t)
	tests := []struct {
		name   string
		opts   analyze.Options
		layers int
		source string
	}{
		{"unset", analyze.Options{}, 1, "default"},
		{"unset ignores the count", analyze.Options{BaseLayers: 3}, 1, "default"},
		{"option 0", analyze.Options{BaseFrom: analyze.BaseOption}, 0, "option"},
		{"option 2", analyze.Options{BaseFrom: analyze.BaseOption, BaseLayers: 2}, 2, "option"},
		{"annotation", analyze.Options{BaseFrom: analyze.BaseAnnotation, BaseLayers: 2}, 2, "annotation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := analyzeRef(t, dir, tt.opts).Report.Image.Base
			if b.Layers != tt.layers || b.Source != tt.source {
				t.Errorf("base %d (%s), want %d (%s)", b.Layers, b.Source, tt.layers, tt.source)
			}
		})
	}
}
