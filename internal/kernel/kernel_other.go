//go:build !linux

package kernel

import (
	"context"
	"io"

	"github.com/layerlint/layerlint/overlay"
)

// Check reports ErrUnsupported: overlayfs is Linux only.
func Check() error { return ErrUnsupported }

// MergedView reports ErrUnsupported: overlayfs is Linux only.
func MergedView(context.Context, []func() (io.ReadCloser, error), string) ([]overlay.File, error) {
	return nil, ErrUnsupported
}

// Mount reports ErrUnsupported: overlayfs is Linux only.
func Mount(context.Context, []func() (io.ReadCloser, error), string, string, MountOptions) error {
	return ErrUnsupported
}

// Unmount reports ErrUnsupported: overlayfs is Linux only.
func Unmount(string, string) error { return ErrUnsupported }

// ProbeCopyUp reports ErrUnsupported: overlayfs is Linux only.
func ProbeCopyUp(string, string, []string) ([]CopyUpResult, error) { return nil, ErrUnsupported }

// Unpack reports ErrUnsupported: overlayfs is Linux only.
func Unpack(context.Context, io.Reader, string, LowerView) (UnpackStats, error) {
	return UnpackStats{}, ErrUnsupported
}

// Walk reports ErrUnsupported: it reads Linux-specific file attributes.
func Walk(string) ([]overlay.File, error) { return nil, ErrUnsupported }

// MountLayerDirs reports ErrUnsupported: overlayfs is Linux only.
func MountLayerDirs(string, []string, string, string) error { return ErrUnsupported }

// UnmountDir reports ErrUnsupported: overlayfs is Linux only.
func UnmountDir(string) error { return ErrUnsupported }
