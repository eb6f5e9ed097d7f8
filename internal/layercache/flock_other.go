//go:build !unix

package layercache

import "os"

// flockNB: without flock, a Dir does not lock across processes (each
// process still decodes a layer once among its own goroutines).
func flockNB(*os.File) (bool, error) { return false, errNoFileLocks }
