package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MountLayerDirs mounts overlayfs at target with lowers as its lower
// directories, bottom layer first (lowers[0] is layer 0). With upper and
// workdir empty the mount is read-only; otherwise writes go to upper, and
// workdir (an empty directory on the same filesystem) is overlayfs's
// scratch space.
//
// It uses the new mount API, adding each layer with "lowerdir+" so that
// neither the number of layers nor the length of their paths is limited
// by one option page, and falls back to mount(2) with an option string on
// kernels without it. A single lower directory without an upper one is
// mounted over an empty directory next to it, as overlayfs wants two.
func MountLayerDirs(target string, lowers []string, upper, workdir string) error {
	if len(lowers) == 0 {
		return fmt.Errorf("mounting %s: no layers", target)
	}
	if (upper == "") != (workdir == "") {
		return fmt.Errorf("mounting %s: upper and work directories go together", target)
	}
	if len(lowers) == 1 && upper == "" {
		if err := os.Mkdir(emptyDirFor(lowers[0]), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("mounting %s: %w", target, err)
		}
	}
	// The mount goes on the directory opened here, never through a
	// symlink: a link planted at a mount point in a shared folder would
	// otherwise put the image over the folder it names (/etc).
	tfd, err := unix.Open(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("mounting at %s: not a directory, or a symlink: refusing to mount where it points", target)
	}
	if err != nil {
		return fmt.Errorf("mounting at %s: %w", target, err)
	}
	defer closeFD(tfd)
	err = fsmountOverlay(tfd, lowers, upper, workdir)
	if errors.Is(err, errOldKernel) {
		err = classicMount("/proc/self/fd/"+strconv.Itoa(tfd), lowers, upper, workdir)
	}
	if err != nil {
		return fmt.Errorf("mounting overlay of %d layers at %s: %w", len(lowers), target, classify(err))
	}
	return nil
}

// errOldKernel says the new mount API or "lowerdir+" is missing.
var errOldKernel = errors.New("new mount API unavailable")

func fsmountOverlay(tfd int, lowers []string, upper, workdir string) (err error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENOSYS) {
		return errOldKernel
	}
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer closeFD(fsfd)
	set := func(key, value string) error {
		if err := unix.FsconfigSetString(fsfd, key, value); err != nil {
			return fmt.Errorf("%s=%s: %w%s", key, value, err, fsLog(fsfd))
		}
		return nil
	}
	for i := len(lowers) - 1; i >= 0; i-- {
		err := unix.FsconfigSetString(fsfd, "lowerdir+", lowers[i])
		if i == len(lowers)-1 && errors.Is(err, unix.EINVAL) {
			// Kernels before 6.8 do not know "lowerdir+"; the log tells
			// them apart from a bad directory, which fails again below.
			return errOldKernel
		}
		if err != nil {
			return fmt.Errorf("lowerdir+=%s: %w%s", lowers[i], err, fsLog(fsfd))
		}
	}
	if len(lowers) == 1 && upper == "" {
		if err := set("lowerdir+", emptyDirFor(lowers[0])); err != nil {
			return err
		}
	}
	if upper != "" {
		if err := set("upperdir", upper); err != nil {
			return err
		}
		if err := set("workdir", workdir); err != nil {
			return err
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("creating superblock: %w%s", err, fsLog(fsfd))
	}
	// Images are other people's content: their device nodes must not
	// open host devices, nor their setuid files run as root, through the
	// mount (lstat still shows both).
	attr := unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID
	if upper == "" {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return fmt.Errorf("fsmount: %w%s", err, fsLog(fsfd))
	}
	defer closeFD(mfd)
	if err := unix.MoveMount(mfd, "", tfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// fsLog reads the messages the kernel left on a filesystem context, which
// say what a bare EINVAL means.
func fsLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for range 16 {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}

// emptyDirFor names the empty directory that pads a one-layer read-only
// mount: it sits next to the layer directory, which the work folder owns.
func emptyDirFor(layer string) string {
	return strings.TrimSuffix(layer, "/") + ".empty"
}

func classicMount(target string, lowers []string, upper, workdir string) error {
	esc := func(s string) (string, error) {
		if strings.ContainsAny(s, ",\\") {
			return "", fmt.Errorf("path %q cannot be passed in an overlay option string", s)
		}
		return strings.ReplaceAll(s, ":", `\:`), nil
	}
	var parts []string
	for i := len(lowers) - 1; i >= 0; i-- {
		e, err := esc(lowers[i])
		if err != nil {
			return err
		}
		parts = append(parts, e)
	}
	if len(lowers) == 1 && upper == "" {
		e, err := esc(emptyDirFor(lowers[0]))
		if err != nil {
			return err
		}
		parts = append(parts, e)
	}
	opts := "lowerdir=" + strings.Join(parts, ":")
	var flags uintptr = unix.MS_NODEV | unix.MS_NOSUID
	if upper == "" {
		flags |= unix.MS_RDONLY
	} else {
		u, err := esc(upper)
		if err != nil {
			return err
		}
		w, err := esc(workdir)
		if err != nil {
			return err
		}
		opts += ",upperdir=" + u + ",workdir=" + w
	}
	if len(opts) >= unix.Getpagesize() {
		return fmt.Errorf("overlay options of %d bytes exceed one page; this kernel lacks lowerdir+ (Linux 6.8)", len(opts))
	}
	if err := unix.Mount("overlay", target, "overlay", flags, opts); err != nil {
		return fmt.Errorf("mount(2): %w", err)
	}
	return nil
}

// classify maps mount errnos to the package's sentinels.
func classify(err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: %w", ErrNotPermitted, err)
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%w: %w", ErrNoOverlay, err)
	}
	return err
}

// UnmountDir unmounts the mount at target. A busy mount is detached, so
// that it goes away once its last user does.
func UnmountDir(target string) error {
	// UMOUNT_NOFOLLOW: a symlink put in place of the mount point must
	// not make root unmount whatever it names.
	err := unix.Unmount(target, unix.UMOUNT_NOFOLLOW)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("unmounting %s: %w", target, classify(err))
	}
	return nil
}
