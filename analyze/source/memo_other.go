//go:build !linux

package source

import "io"

// fileState: elsewhere than on Linux no blob file is remembered (a
// verifying run hashes every blob, as without a memo).
func fileState(io.Reader) (BlobFile, bool) { return BlobFile{}, false }
