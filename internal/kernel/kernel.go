//go:build linux

package kernel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/layerlint/layerlint/internal/safefs"
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

// mountTarget is target made absolute, once it is known to be a
// directory and not a symlink.
func mountTarget(target string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", target, err)
	}
	if fi, err := os.Lstat(abs); err != nil || !fi.IsDir() {
		if err == nil {
			err = fmt.Errorf("mode %v: not a directory, or a symlink: refusing to mount where it points", fi.Mode().Type())
		}
		return "", fmt.Errorf("mounting at %s: %w", abs, err)
	}
	return abs, nil
}

// makeUpper makes the writable layer of a mount: the given upper
// directory, or one inside work, and overlayfs's work folder. It records
// them in st.
func makeUpper(wd *safefs.Dir, work, given string, st *mountState) (upper, workdir string, err error) {
	upper = given
	if upper == "" {
		if err := wd.Mkdir("upper", 0o755); err != nil {
			return "", "", fmt.Errorf("making upper folder: %w", err)
		}
		upper, st.OwnUpper = filepath.Join(work, "upper"), true
	}
	if upper, err = filepath.Abs(upper); err != nil {
		return "", "", fmt.Errorf("resolving %s: %w", upper, err)
	}
	if err := os.MkdirAll(upper, 0o755); err != nil {
		return "", "", fmt.Errorf("making %s: %w", upper, err)
	}
	if err := wd.Mkdir("ovlwork", 0o700); err != nil {
		return "", "", fmt.Errorf("making overlayfs work folder: %w", err)
	}
	workdir = filepath.Join(work, "ovlwork")
	st.Upper = upper
	return upper, workdir, nil
}

// Mount unpacks the layers into work and mounts their stack at target
// until Unmount(target). Unless opts.ReadOnly, writes go to opts.Upper (or
// to an upper directory inside work). The work folder must not exist yet:
// Mount creates it (exclusively, so that it is known to be its own).
// Unmount removes what Mount created there, never opts.Upper. A failed
// Mount removes it too.
func Mount(ctx context.Context, layers []func() (io.ReadCloser, error), work, target string, opts MountOptions) (err error) {
	if err := Check(); err != nil {
		return err
	}
	if len(layers) == 0 {
		return fmt.Errorf("mounting at %s: no layers", target)
	}
	abs, err := mountTarget(target)
	if err != nil {
		return err
	}
	if work, err = filepath.Abs(work); err != nil {
		return fmt.Errorf("resolving %s: %w", work, err)
	}
	sd, err := openStateDir(opts.StateDir, true)
	if err != nil {
		return err
	}
	defer sd.Close() //nolint:errcheck // a directory handle
	name := stateName(abs)
	if _, err := sd.Lstat(name); err == nil {
		return fmt.Errorf("%w: %s (state %s)", ErrAlreadyMounted, abs, filepath.Join(sd.Path(), name))
	}
	if err := os.MkdirAll(filepath.Dir(work), 0o755); err != nil {
		return fmt.Errorf("making the parent of work folder %s: %w", work, err)
	}
	// Mkdir, not MkdirAll: the folder must be new, so that nobody else
	// put anything in it.
	if err := os.Mkdir(work, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("mounting at %s: work folder %s already exists (give a new one with --work)", abs, work)
		}
		return fmt.Errorf("making work folder: %w", err)
	}
	wd, err := safefs.Open(work)
	if err != nil {
		return errors.Join(fmt.Errorf("opening work folder: %w", err), os.Remove(work))
	}
	defer wd.Close() //nolint:errcheck // a directory handle
	st := mountState{Target: abs, Work: work, ReadOnly: opts.ReadOnly, Layers: len(layers), Mounted: time.Now().UTC()}
	if st.WorkDev, st.WorkIno, err = wd.Ino(); err != nil {
		return errors.Join(fmt.Errorf("reading work folder: %w", err), os.Remove(work))
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return errors.Join(err, os.Remove(work))
	}
	st.Token = hex.EncodeToString(tok[:])
	// A failed mount leaves nothing behind: Unmount could not find it.
	defer func() {
		if err != nil {
			err = errors.Join(err, removeWork(wd, &st))
		}
	}()
	if err := wd.WriteFile(tokenName, []byte(st.Token+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing work folder token: %w", err)
	}
	dirs, err := unpackAll(ctx, layers, work)
	if err != nil {
		return err
	}
	var upper, workdir string
	if !opts.ReadOnly {
		if upper, workdir, err = makeUpper(wd, work, opts.Upper, &st); err != nil {
			return err
		}
	}
	// The state is written before mounting: a mount that Unmount cannot
	// find would leak, a state without a mount is cleaned up by Unmount.
	if err := writeState(sd, name, &st, false); err != nil {
		return err
	}
	if err := MountLayerDirs(abs, dirs, upper, workdir); err != nil {
		return errors.Join(err, sd.Remove(name))
	}
	mi, ok, err := mountAt(abs)
	if err == nil && (!ok || mi.fsType != "overlay") {
		err = fmt.Errorf("the mount table shows no overlay at %s after mounting it", abs)
	}
	if err == nil {
		st.MountID = mi.id
		err = writeState(sd, name, &st, true)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("recording the mount at %s: %w", abs, err), UnmountDir(abs), sd.Remove(name))
	}
	return nil
}

// Unmount undoes Mount: it unmounts target and removes what Mount created
// in its work folder, then the record. It acts only on a mount that Mount
// made, as recorded in stateDir (DefaultStateDir when ""): it returns
// ErrNotMounted when there is no record for target, and ErrNotOurs (doing
// nothing) when the mount at target or the work folder is not the one the
// record describes any more.
func Unmount(target, stateDir string) error {
	abs, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", target, err)
	}
	sd, err := openStateDir(stateDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is not a mount that layerlint made (no mount state folder %s)", ErrNotMounted, abs, orDefault(stateDir))
	}
	if err != nil {
		return err
	}
	defer sd.Close() //nolint:errcheck // a directory handle
	name := stateName(abs)
	f, err := sd.OpenFile(name, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is not a mount that layerlint made (no record in %s)", ErrNotMounted, abs, sd.Path())
	}
	if err != nil {
		return fmt.Errorf("reading mount state: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("reading mount state: %w", err)
	}
	statePath := filepath.Join(sd.Path(), name)
	var st mountState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("reading mount state %s: %w", statePath, err)
	}
	if st.Target != abs || st.Work == "" || !filepath.IsAbs(st.Work) || st.Token == "" {
		return fmt.Errorf("%w: mount state %s does not describe %s", ErrNotOurs, statePath, abs)
	}
	mi, mounted, err := mountAt(abs)
	if err != nil {
		return err
	}
	if mounted {
		if mi.id != st.MountID || mi.fsType != "overlay" {
			return fmt.Errorf("%w: %s is a %s mount (id %d), not the overlay that layerlint mounted there (id %d); unmount it yourself and remove %s",
				ErrNotOurs, abs, mi.fsType, mi.id, st.MountID, statePath)
		}
		if err := UnmountDir(abs); err != nil {
			return err
		}
	}
	wd, err := safefs.Open(st.Work)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Gone already: only the record is left.
	case err != nil:
		return fmt.Errorf("%w: work folder %s: %w; not removing it (remove %s when done)", ErrNotOurs, st.Work, err, statePath)
	default:
		defer wd.Close() //nolint:errcheck // a directory handle
		if err := checkWork(wd, &st); err != nil {
			return fmt.Errorf("%w: work folder %s: %w; not removing it (remove %s when done)", ErrNotOurs, st.Work, err, statePath)
		}
		// The work folder holds a mount point for lower views: refuse to
		// delete through a mount that is somehow still there.
		if err := unix.Unmount(filepath.Join(st.Work, "lower"), unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmounting lower view in %s: %w", st.Work, err)
		}
		if err := removeWork(wd, &st); err != nil {
			return err
		}
	}
	if err := sd.Remove(name); err != nil {
		return fmt.Errorf("removing mount state: %w", err)
	}
	return nil
}
