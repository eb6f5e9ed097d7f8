package squash

import "context"

// dryRun is the target of OutputNone: blobs are produced, measured and
// dropped, and nothing is written or verified.
type dryRun struct{}

var _ target = dryRun{}

func (dryRun) prepare([]Image) (blobSink, error)                      { return discard{}, nil }
func (dryRun) write(context.Context, *written) error                  { return nil }
func (dryRun) verify(context.Context, *written, *VerifyOptions) error { return nil }
func (dryRun) commit(*written) error                                  { return nil }
func (dryRun) rollback() error                                        { return nil }
func (dryRun) release() error                                         { return nil }
