//go:build linux

package kernel

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/overlay"
)

// ProbeCopyUp appends one byte to each path (relative to mountpoint, a
// writable overlay mount whose upper directory is upper) and measures the
// copy-up that the append causes: how many bytes landed in upper for that
// path, and how long the open and write took. The probe changes the files:
// use a throwaway mount.
func ProbeCopyUp(mountpoint, upper string, paths []string) ([]CopyUpResult, error) {
	mfd, err := unix.Open(mountpoint, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", mountpoint, err)
	}
	defer closeFD(mfd)
	ufd, err := unix.Open(upper, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", upper, err)
	}
	defer closeFD(ufd)
	out := make([]CopyUpResult, 0, len(paths))
	for _, raw := range paths {
		p, ok := overlay.CleanPath(raw)
		if !ok || p == "" {
			return out, fmt.Errorf("probing %q: %w", raw, overlay.ErrUnsafePath)
		}
		r, err := probeOne(mfd, ufd, p)
		if err != nil {
			return out, fmt.Errorf("probing %s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func probeOne(mfd, ufd int, p string) (CopyUpResult, error) {
	dir, name := splitPath(p)
	pfd, err := openBeneath(mfd, dir)
	if err != nil {
		return CopyUpResult{}, err
	}
	defer closeFD(pfd)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return CopyUpResult{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return CopyUpResult{}, fmt.Errorf("not a regular file (mode %#o)", st.Mode)
	}
	r := CopyUpResult{Path: p, Size: st.Size}
	start := time.Now()
	fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return r, err
	}
	_, err = unix.Write(fd, []byte{'\n'})
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	r.Duration = time.Since(start)
	if err != nil {
		return r, fmt.Errorf("appending: %w", err)
	}
	upfd, err := openBeneath(ufd, dir)
	if err != nil {
		return r, fmt.Errorf("finding the copy in the upper directory: %w", err)
	}
	defer closeFD(upfd)
	if err := unix.Fstatat(upfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return r, fmt.Errorf("finding the copy in the upper directory: %w", err)
	}
	r.UpperBytes, r.UpperAllocated = st.Size, st.Blocks*512
	return r, nil
}
