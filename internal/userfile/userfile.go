// Package userfile reads the files that a user names or that layerlint
// finds beside the image (--config, an auto-discovered .layerlint.yaml,
// --dive-ci, --baseline, --copy-up, --dockerfile). They are small text
// files, but in CI they may come from the same pull request as the image:
// a FIFO in their place must not hang the run, /dev/zero must not fill the
// memory, and a symlink to a device is the device. So every one of them is
// read by Read: opened without blocking, refused unless it is a regular
// file, and read through a size cap.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxBytes is the cap on a file that Read reads: far above any real
// configuration, baseline or Dockerfile.
const MaxBytes = 16 << 20

// Sentinel errors, for callers that word them (errors.Is).
var (
	// ErrNotRegular: the name is a directory, FIFO, socket or device.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than the cap.
	ErrTooLarge = errors.New("file too large")
)

// Read returns the content of the regular file at p, at most limit bytes
// (MaxBytes when limit <= 0). The open never blocks (O_NONBLOCK, where the
// system has it: opening a FIFO with no writer returns at once), the
// opened file is checked with fstat, so that what is read is what was
// checked, and a file that grows past the cap while it is read is still
// refused. Errors name p.
func Read(p string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = MaxBytes
	}
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err // *PathError names p
	}
	defer f.Close() //nolint:errcheck // read-only
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", p, ErrNotRegular, kind(fi.Mode()))
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, more than %d (cap)", p, ErrTooLarge, fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes (cap)", p, ErrTooLarge, limit)
	}
	return b, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "mode " + m.String()
}
