package kernel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// victim makes a folder with a file that no test may delete, and returns
// a check that it is intact.
func victim(t *testing.T) (dir string, intact func()) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "victim")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "precious"), []byte("p"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, func() {
		t.Helper()
		if b, err := os.ReadFile(filepath.Join(dir, "sub", "precious")); err != nil || string(b) != "p" {
			t.Fatalf("victim folder damaged: %q, %v", b, err)
		}
	}
}

// The attack of issue 9: in a shared sticky folder, another user plants
// DIR and a state file beside it naming a victim folder as the work
// folder. Root's umount DIR must leave the victim alone and say that DIR
// is not a mount layerlint made.
func TestUmountIgnoresPlantedState(t *testing.T) {
	needKernel(t)
	v, intact := victim(t)
	shared := t.TempDir()
	target := filepath.Join(shared, "mnt")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	planted := `{"target": "` + target + `", "work": "` + v + `", "readOnly": true, "layers": 1, "token": "x"}`
	for _, p := range []string{
		filepath.Join(shared, ".mnt.layerlint"), // where main looked
		filepath.Join(shared, ".mnt.layerlint.d", "state.json"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(planted), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stateDir := filepath.Join(t.TempDir(), "state")
	err := Unmount(target, stateDir)
	if !errors.Is(err, ErrNotMounted) || !strings.Contains(err.Error(), "not a mount that layerlint made") {
		t.Errorf("umount of a planted mount: %v, want ErrNotMounted saying so", err)
	}
	intact()
	// Root's mount at the planted DIR does not trust the planted work
	// folder either: it must be new.
	err = Mount(context.Background(), openers(tarsOf(t, [][]ent{{file("a", "a")}})), filepath.Join(shared, ".mnt.layerlint.d"), target, MountOptions{StateDir: stateDir})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("mount with a planted work folder: %v, want a refusal", err)
	}
	intact()
}

// A state folder that others can write is not trusted: a record planted
// there would steer umount.
func TestStateDirMustBePrivate(t *testing.T) {
	needKernel(t)
	sd := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(sd, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sd, 0o777); err != nil {
		t.Fatal(err)
	}
	err := Unmount(filepath.Join(t.TempDir(), "x"), sd)
	if err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("umount with a world-writable state folder: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(filepath.Join(t.TempDir(), "x"), link); err == nil || errors.Is(err, ErrNotMounted) {
		t.Errorf("umount with a symlinked state folder: %v, want a refusal", err)
	}
}

// The work folder swapped after mount (renamed away, another folder put in
// its place): umount unmounts nothing it cannot vouch for and deletes
// nothing.
func TestUmountRefusesSwappedWork(t *testing.T) {
	needKernel(t)
	v, intact := victim(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	target, work := mountForTest(t, MountOptions{StateDir: stateDir, ReadOnly: true}, []ent{file("a", "a")})
	if err := UnmountDir(target); err != nil { // unmounted behind layerlint's back
		t.Fatal(err)
	}
	moved := work + ".moved"
	if err := os.Rename(work, moved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(moved) })
	if err := os.Symlink(v, work); err != nil {
		t.Fatal(err)
	}
	err := Unmount(target, stateDir)
	if !errors.Is(err, ErrNotOurs) {
		t.Errorf("umount with a symlinked work folder: %v, want ErrNotOurs", err)
	}
	intact()
	// A real folder in its place, even with the victim's content.
	if err := os.Remove(work); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(v, work); err != nil {
		t.Fatal(err)
	}
	err = Unmount(target, stateDir)
	if !errors.Is(err, ErrNotOurs) {
		t.Errorf("umount with a replaced work folder: %v, want ErrNotOurs", err)
	}
	if err := os.Rename(work, v); err != nil {
		t.Fatal(err)
	}
	intact()
}

// A mount that layerlint did not make at DIR (here a tmpfs put over the
// overlay) is not unmounted.
func TestUmountRefusesForeignMount(t *testing.T) {
	needKernel(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	target, _ := mountForTest(t, MountOptions{StateDir: stateDir, ReadOnly: true}, []ent{file("a", "a")})
	if err := mountTmpfs(target); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = UnmountDir(target) }()
	err := Unmount(target, stateDir)
	if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), "tmpfs") {
		t.Errorf("umount over a foreign mount: %v, want ErrNotOurs naming it", err)
	}
}

// An --upper folder is the user's: umount keeps it and what was written
// to it, even inside the work folder; the rest of the work folder goes.
func TestUmountKeepsUpperInsideWork(t *testing.T) {
	needKernel(t)
	base := t.TempDir()
	stateDir := filepath.Join(base, "state")
	target := filepath.Join(base, "root")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(base, "work")
	upper := filepath.Join(work, "myupper")
	if err := Mount(context.Background(), openers(tarsOf(t, [][]ent{{file("a", "a")}, {file("b", "b")}})), work, target, MountOptions{Upper: upper, StateDir: stateDir}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "written"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(target, stateDir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(upper, "written")); err != nil || string(b) != "w" {
		t.Errorf("--upper content after umount: %q, %v", b, err)
	}
	entries, err := os.ReadDir(work)
	if err != nil || len(entries) != 1 || entries[0].Name() != "myupper" {
		t.Errorf("work folder after umount: %v, %v; want only myupper", entries, err)
	}
}

func TestParseMountInfo(t *testing.T) {
	m, ok := parseMountInfo(`36 35 98:0 / /mnt/with\040space rw,noatime master:1 - overlay overlay rw`)
	if !ok || m.id != 36 || m.mountPoint != "/mnt/with space" || m.fsType != "overlay" {
		t.Errorf("got %+v, %v", m, ok)
	}
	if _, ok := parseMountInfo("garbage"); ok {
		t.Error("garbage parsed")
	}
}

func mountTmpfs(target string) error {
	return unix.Mount("tmpfs", target, "tmpfs", unix.MS_NODEV|unix.MS_NOSUID, "size=1m")
}

// A mount point that is a symlink (planted in a shared folder, naming a
// folder like /etc) is refused: the image is never mounted over the
// folder it names.
func TestMountRefusesSymlinkTarget(t *testing.T) {
	needKernel(t)
	v, intact := victim(t)
	shared := t.TempDir()
	target := filepath.Join(shared, "mnt")
	if err := os.Symlink(v, target); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(t.TempDir(), "state")
	err := Mount(context.Background(), openers(tarsOf(t, [][]ent{{file("a", "a")}})), filepath.Join(shared, "work"), target, MountOptions{StateDir: stateDir, ReadOnly: true})
	if err == nil {
		_ = UnmountDir(v)
		t.Fatal("mounted over the folder a symlink named")
	}
	if !strings.Contains(err.Error(), "symlink") {
		t.Errorf("mount at a symlink: %v, want a refusal naming it", err)
	}
	if _, mounted, _ := mountAt(v); mounted {
		_ = UnmountDir(v)
		t.Error("the victim folder is a mount point")
	}
	intact()
	if entries, err := os.ReadDir(shared); err != nil || len(entries) != 1 {
		t.Errorf("mount left %v beside the mount point (%v)", entries, err)
	}
}
