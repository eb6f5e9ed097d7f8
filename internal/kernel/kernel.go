//go:build linux

package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/overlay"
)

// Check reports whether this process can mount overlayfs: ErrNotPermitted
// when it is not root, ErrNoOverlay when the kernel has no overlayfs.
func Check() error {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("%w: running as uid %d", ErrNotPermitted, uid)
	}
	data, err := os.ReadFile("/proc/filesystems")
	if err == nil && bytes.Contains(data, []byte("\toverlay\n")) {
		return nil
	}
	// Not listed yet: opening a filesystem context loads the module if
	// there is one.
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	switch {
	case err == nil:
		closeFD(fd)
		return nil
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%w: not in /proc/filesystems and fsopen says ENODEV", ErrNoOverlay)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: fsopen: %w", ErrNotPermitted, err)
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("%w: not in /proc/filesystems", ErrNoOverlay)
	}
	return fmt.Errorf("probing overlayfs: %w", err)
}

// MergedView unpacks the layers (bottom first) into work and returns the
// merged view the kernel shows for them. Layer N is unpacked into
// work/layers/N with the layers below it mounted read-only as its lower
// view. The stack is mounted, walked and unmounted; the work folder is
// left for the caller to remove.
func MergedView(ctx context.Context, layers []func() (io.ReadCloser, error), work string) ([]overlay.File, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	dirs, err := unpackAll(ctx, layers, work)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, nil
	}
	merged := filepath.Join(work, "merged")
	if err := os.Mkdir(merged, 0o755); err != nil {
		return nil, fmt.Errorf("making mount point: %w", err)
	}
	if err := MountLayerDirs(merged, dirs, "", ""); err != nil {
		return nil, err
	}
	files, err := Walk(merged)
	if uerr := UnmountDir(merged); err == nil {
		err = uerr
	}
	if err != nil {
		return nil, err
	}
	return files, nil
}

// unpackAll unpacks each layer into work/layers/N and returns their
// directories, bottom first.
func unpackAll(ctx context.Context, layers []func() (io.ReadCloser, error), work string) ([]string, error) {
	root := filepath.Join(work, "layers")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("making layer folder: %w", err)
	}
	lowerMnt := filepath.Join(work, "lower")
	if len(layers) > 1 {
		if err := os.Mkdir(lowerMnt, 0o755); err != nil {
			return nil, fmt.Errorf("making lower mount point: %w", err)
		}
	}
	dirs := make([]string, 0, len(layers))
	for i, open := range layers {
		dir := filepath.Join(root, strconv.Itoa(i))
		// The layer directory is the root of the layer: its mode is what
		// overlayfs shows for the merged root, which is not part of the
		// view; 0755 like a runtime's rootfs.
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if err := unpackOne(ctx, open, dir, dirs, lowerMnt); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

func unpackOne(ctx context.Context, open func() (io.ReadCloser, error), dir string, lowers []string, lowerMnt string) (err error) {
	var lv LowerView
	if len(lowers) > 0 {
		if err := MountLayerDirs(lowerMnt, lowers, "", ""); err != nil {
			return fmt.Errorf("mounting lower view: %w", err)
		}
		defer func() {
			if uerr := UnmountDir(lowerMnt); err == nil {
				err = uerr
			}
		}()
		lv.Root = lowerMnt
	}
	rc, err := open()
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	defer func() {
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing: %w", cerr)
		}
	}()
	if _, err := Unpack(ctx, rc, dir, lv); err != nil {
		return err
	}
	// Drain what follows the tar's end marker, so that a digest check
	// wrapped around the stream sees every byte.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("draining: %w", err)
	}
	return nil
}

// mountState is what Mount records for Unmount, in the state file next to
// the target.
type mountState struct {
	Target   string    `json:"target"`
	Work     string    `json:"work"`
	Upper    string    `json:"upper,omitempty"`
	ReadOnly bool      `json:"readOnly"`
	Layers   int       `json:"layers"`
	Mounted  time.Time `json:"mounted"`
}

// Mount unpacks the layers into work and mounts their stack at target
// until Unmount(target). Unless opts.ReadOnly, writes go to opts.Upper (or
// to an upper directory inside work). The work folder must not exist yet;
// Unmount removes it, but never opts.Upper. A failed Mount removes it too.
func Mount(ctx context.Context, layers []func() (io.ReadCloser, error), work, target string, opts MountOptions) (err error) {
	if err := Check(); err != nil {
		return err
	}
	if len(layers) == 0 {
		return fmt.Errorf("mounting at %s: no layers", target)
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", target, err)
	}
	if work, err = filepath.Abs(work); err != nil {
		return fmt.Errorf("resolving %s: %w", work, err)
	}
	state := StatePath(abs)
	if _, err := os.Lstat(state); err == nil {
		return fmt.Errorf("%w: %s (state %s)", ErrAlreadyMounted, abs, state)
	}
	if _, err := os.Lstat(work); err == nil {
		return fmt.Errorf("mounting at %s: work folder %s already exists", abs, work)
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("making work folder: %w", err)
	}
	// A failed mount leaves nothing behind: Unmount could not find it.
	defer func() {
		if err != nil {
			err = errors.Join(err, os.RemoveAll(work))
		}
	}()
	dirs, err := unpackAll(ctx, layers, work)
	if err != nil {
		return err
	}
	st := mountState{Target: abs, Work: work, ReadOnly: opts.ReadOnly, Layers: len(layers), Mounted: time.Now().UTC()}
	var upper, workdir string
	if !opts.ReadOnly {
		upper = opts.Upper
		if upper == "" {
			upper = filepath.Join(work, "upper")
		}
		if upper, err = filepath.Abs(upper); err != nil {
			return fmt.Errorf("resolving %s: %w", upper, err)
		}
		workdir = filepath.Join(work, "ovlwork")
		for _, d := range []string{upper, workdir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("making %s: %w", d, err)
			}
		}
		st.Upper = upper
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding mount state: %w", err)
	}
	// The state is written before mounting: a mount that Unmount cannot
	// find would leak, a state without a mount is cleaned up by Unmount.
	if err := os.WriteFile(state, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing mount state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, "state.json"), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing mount state: %w", err)
	}
	if err := MountLayerDirs(abs, dirs, upper, workdir); err != nil {
		return errors.Join(err, os.Remove(state))
	}
	return nil
}

// Unmount undoes Mount: it unmounts target, removes the work folder that
// the state file next to target names, and the state file. It returns
// ErrNotMounted when target has no state file.
func Unmount(target string) error {
	abs, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", target, err)
	}
	statePath := StatePath(abs)
	data, err := os.ReadFile(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s (no %s)", ErrNotMounted, abs, statePath)
	}
	if err != nil {
		return fmt.Errorf("reading mount state: %w", err)
	}
	var st mountState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("reading mount state %s: %w", statePath, err)
	}
	if st.Target != abs || st.Work == "" || !filepath.IsAbs(st.Work) {
		return fmt.Errorf("mount state %s does not describe %s", statePath, abs)
	}
	if err := UnmountDir(abs); err != nil && !errors.Is(err, unix.EINVAL) {
		return err // EINVAL: not mounted any more; clean up the rest
	}
	// The work folder holds a mount point for lower views: refuse to
	// delete through a mount that is somehow still there.
	if err := unix.Unmount(filepath.Join(st.Work, "lower"), 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting lower view in %s: %w", st.Work, err)
	}
	if err := os.RemoveAll(st.Work); err != nil {
		return fmt.Errorf("removing work folder: %w", err)
	}
	if err := os.Remove(statePath); err != nil {
		return fmt.Errorf("removing mount state: %w", err)
	}
	return nil
}

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
