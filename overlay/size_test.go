package overlay

import (
	"testing"
	"unsafe"
)

// TestStoredSizes guards the structs that a changeset holds one of per
// entry and a model one of per path and per file: peak memory per path
// (docs/performance.md) rests on them, and a field added in line moves
// them to a larger size class.
func TestStoredSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, most uintptr
		outOfLine string
	}{
		{"entry", unsafe.Sizeof(entry{}), 56, "entryExtra"},
		{"node", unsafe.Sizeof(node{}), 64, "nodeExtra"},
		{"version", unsafe.Sizeof(version{}), 32, "the layer's hashTable"},
	} {
		if tt.got > tt.most {
			t.Errorf("%s is %d bytes, more than %d: keep rarely set fields in %s", tt.name, tt.got, tt.most, tt.outOfLine)
		}
	}
}
