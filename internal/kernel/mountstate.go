//go:build linux

package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/internal/safefs"
)

// stateName returns the file name of the record of a mount at target (an
// absolute, cleaned path): a hash, so that any path gives a fixed-size
// name without separators.
func stateName(target string) string {
	h := sha256.Sum256([]byte(target))
	return hex.EncodeToString(h[:16]) + ".json"
}

// tokenName is the file inside a work folder whose random content ties the
// folder to the record of its mount.
const tokenName = ".layerlint-token"

// mountState is what Mount records for Unmount, in the state folder (one
// file per mount point). It binds the record to the mount it describes:
// the mount's ID in the mount table, and the work folder's device, inode
// and random token. Unmount acts only when all of them still match.
type mountState struct {
	Target  string `json:"target"`
	MountID uint64 `json:"mountId"`
	Work    string `json:"work"`
	WorkDev uint64 `json:"workDev"`
	WorkIno uint64 `json:"workIno"`
	Token   string `json:"token"`
	Upper   string `json:"upper,omitempty"`
	// OwnUpper says the upper folder is the one Mount made inside the
	// work folder; a --upper folder is the user's and is never removed.
	OwnUpper bool      `json:"ownUpper,omitempty"`
	ReadOnly bool      `json:"readOnly"`
	Layers   int       `json:"layers"`
	Mounted  time.Time `json:"mounted"`
}

// workEntries are the entries Mount creates in a work folder, the only
// ones Unmount removes (with "upper" when OwnUpper).
var workEntries = []string{"layers", "lower", "ovlwork"}

// openStateDir opens the state folder (DefaultStateDir when dir is ""),
// creating it with mode 0700 when create is set. It refuses a folder that
// someone other than this user could write: a record planted there would
// steer Unmount.
func openStateDir(dir string, create bool) (*safefs.Dir, error) {
	if dir == "" {
		dir = DefaultStateDir
	}
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("making mount state folder: %w", err)
		}
	}
	d, err := safefs.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening mount state folder: %w", err)
	}
	fi, err := d.Stat()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("reading mount state folder: %w", err), d.Close())
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(sys.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return nil, errors.Join(fmt.Errorf("mount state folder %s (mode %v) is writable by others or not owned by uid %d: refusing to trust it", dir, fi.Mode().Perm(), os.Geteuid()), d.Close())
	}
	return d, nil
}

// writeState writes the record name in sd through a temp file and a
// rename; replace allows an existing record (an update).
func writeState(sd *safefs.Dir, name string, st *mountState, replace bool) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding mount state: %w", err)
	}
	f, err := sd.CreateTemp("", ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing mount state: %w", err)
	}
	tmp := filepath.Base(f.Name())
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil && !replace {
		// Link fails if the name exists: two mounts racing for one target
		// cannot both win.
		if err = sd.Link(tmp, name); err == nil {
			err = sd.Remove(tmp)
		}
	} else if err == nil {
		err = sd.Rename(tmp, name)
	}
	if err != nil {
		_ = sd.Remove(tmp)
		return fmt.Errorf("writing mount state: %w", err)
	}
	return sd.SyncDir("")
}

// removeWork removes from the work folder what Mount created there, and
// the folder itself when nothing else is left in it (a --upper folder
// inside it stays, with the folder).
func removeWork(wd *safefs.Dir, st *mountState) error {
	names := slices.Clone(workEntries)
	if st.OwnUpper {
		names = append(names, "upper")
	}
	keep := ""
	if st.Upper != "" && !st.OwnUpper {
		if rel, err := safefs.Rel(st.Work, st.Upper); err == nil {
			keep, _, _ = strings.Cut(rel, "/")
		}
	}
	var errs []error
	for _, n := range names {
		if n == keep {
			continue
		}
		errs = append(errs, wd.RemoveAll(n))
	}
	errs = append(errs, wd.RemoveAll(tokenName))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing work folder %s: %w", st.Work, err)
	}
	// rmdir only removes an empty folder: what Mount did not create stays.
	if err := os.Remove(st.Work); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("removing work folder %s: %w", st.Work, err)
	}
	return nil
}

// checkWork reports whether wd is the work folder the record describes:
// same device and inode, and the same token inside.
func checkWork(wd *safefs.Dir, st *mountState) error {
	dev, ino, err := wd.Ino()
	if err != nil {
		return err
	}
	if dev != st.WorkDev || ino != st.WorkIno {
		return fmt.Errorf("it is not the folder that layerlint made (device %d inode %d, recorded %d/%d)", dev, ino, st.WorkDev, st.WorkIno)
	}
	f, err := wd.OpenFile(tokenName, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("its token: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("its token: %w", err)
	}
	if strings.TrimSpace(string(b)) != st.Token {
		return errors.New("its token does not match the record")
	}
	return nil
}

func orDefault(dir string) string {
	if dir == "" {
		return DefaultStateDir
	}
	return dir
}
