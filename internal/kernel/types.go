package kernel

import (
	"errors"
	"time"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrUnsupported: the kernel backend needs Linux.
	ErrUnsupported = errors.New("overlayfs backend is only available on Linux")
	// ErrNotPermitted: mounting needs root (CAP_SYS_ADMIN).
	ErrNotPermitted = errors.New("mounting overlayfs needs root (CAP_SYS_ADMIN)")
	// ErrNoOverlay: the running kernel has no overlayfs.
	ErrNoOverlay = errors.New("overlayfs is not available in this kernel")
	// ErrNotMounted: Unmount found no layerlint mount at the target.
	ErrNotMounted = errors.New("no layerlint mount at this directory")
	// ErrAlreadyMounted: Mount found a layerlint mount at the target.
	ErrAlreadyMounted = errors.New("a layerlint mount is already at this directory")
	// ErrNotOurs: Unmount found a record for the target, but the mount
	// there or its work folder is not the one layerlint made; it touched
	// nothing.
	ErrNotOurs = errors.New("not the mount that layerlint made")
)

// LowerView is the merged view of the layers below the one being unpacked,
// given as the root of a read-only overlay mount of them. The zero value is
// the empty view of the bottom layer.
type LowerView struct {
	// Root is the directory where the lower layers are mounted; "" for
	// none.
	Root string
}

// UnpackStats counts what Unpack did with one layer.
type UnpackStats struct {
	// Entries counts tar entries read, whiteouts and markers included.
	Entries int
	// Bytes counts regular-file content written.
	Bytes int64
	// Whiteouts counts whiteout devices created; Opaque, directories
	// marked opaque (markers, and directories that replaced lower content).
	Whiteouts, Opaque int
	// Links counts hard links made inside the layer; CopiedLinks, hard
	// links to lower objects materialised as copies; SkippedLinks, hard
	// links whose target was missing or a directory.
	Links, CopiedLinks, SkippedLinks int
	// Ignored counts entries that change nothing: the root, AUFS metadata,
	// bare ".wh.", PAX global headers, sockets and unknown types.
	Ignored int
}

// MountOptions selects how Mount mounts the stack.
type MountOptions struct {
	// Upper is the directory that receives writes; "" means a fresh
	// directory inside the work folder (removed by Unmount). It must be on
	// the same filesystem as the work folder, which holds overlayfs's
	// workdir. Ignored when ReadOnly is set.
	Upper string
	// ReadOnly mounts the layers without an upper directory.
	ReadOnly bool
	// StateDir is where the mount is recorded for Unmount; "" means
	// DefaultStateDir. It must be writable by this user only.
	StateDir string
}

// CopyUpResult is what ProbeCopyUp measured for one path.
type CopyUpResult struct {
	Path string
	// Size is the file's size before the probe appended its byte.
	Size int64
	// UpperBytes is the size of the file in the upper directory after the
	// append; UpperAllocated, the bytes the upper filesystem allocated for
	// it (st_blocks × 512): what a container that appends one byte pays.
	UpperBytes, UpperAllocated int64
	// Duration is the time the open-for-append and the write took; the
	// copy-up happens inside it.
	Duration time.Duration
}
