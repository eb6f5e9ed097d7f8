package kernel

import (
	"fmt"
	"path/filepath"
)

// DefaultStateDir is where Mount records its mounts for Unmount: a folder
// that only root can write, so that nobody else can plant a record that
// makes root's Unmount delete something (a record beside the mount point,
// in a shared folder like /tmp, could be planted by anyone).
const DefaultStateDir = "/run/layerlint"

// DefaultWork returns a work folder for a mount at target:
// ".NAME.layerlint.d" in the target's parent, on the same filesystem as
// the target so that writes need no cross-device copies. Mount creates it
// and fails if it exists.
func DefaultWork(target string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", target, err)
	}
	return filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".layerlint.d"), nil
}
