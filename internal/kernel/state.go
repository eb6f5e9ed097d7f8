package kernel

import (
	"fmt"
	"path/filepath"
)

// StatePath returns the state file that Mount writes for target (an
// absolute, cleaned path): ".NAME.layerlint" in the target's parent.
func StatePath(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".layerlint")
}

// DefaultWork returns a work folder for a mount at target:
// ".NAME.layerlint.d" in the target's parent, on the same filesystem as
// the target so that writes need no cross-device copies.
func DefaultWork(target string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", target, err)
	}
	return StatePath(abs) + ".d", nil
}
