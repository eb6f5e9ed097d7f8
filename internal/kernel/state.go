package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
)

// DefaultStateDir is where Mount records its mounts for Unmount: a folder
// that only root can write, so that nobody else can plant a record that
// makes root's Unmount delete something (a record beside the mount point,
// in a shared folder like /tmp, could be planted by anyone).
const DefaultStateDir = "/run/layerlint"

// stateName returns the file name of the record of a mount at target (an
// absolute, cleaned path): a hash, so that any path gives a fixed-size
// name without separators.
func stateName(target string) string {
	h := sha256.Sum256([]byte(target))
	return hex.EncodeToString(h[:16]) + ".json"
}

// tokenName is the file inside a work folder whose random content ties the
// folder to the record of its mount.
const tokenName = ".layerlint-token"

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
