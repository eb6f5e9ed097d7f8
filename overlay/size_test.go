package overlay

import (
	"testing"
	"unsafe"
)

// TestNodeSize guards the size of the struct the model holds one of per
// path of the image: peak memory per path (docs/performance.md) rests on it,
// and a field added in line moves it to a larger size class.
func TestNodeSize(t *testing.T) {
	if got, limit := unsafe.Sizeof(node{}), uintptr(80); got > limit {
		t.Errorf("node is %d bytes, more than %d: keep rarely set fields in nodeExtra", got, limit)
	}
}
