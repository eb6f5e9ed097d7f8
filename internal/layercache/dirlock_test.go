//go:build unix

package layercache

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/layerlint/layerlint/internal/testenv"
)

// TestDirLockOneHolder: of many lockers of one name, each with its own
// handle on the folder (as separate processes have), one holds the lock at
// a time, and those that wait return when the holder's entry appears.
func TestDirLockOneHolder(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var holders, decodes atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		d, err := OpenDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close() //nolint:errcheck // test
		wg.Go(func() {
			release, err := d.Lock(ctx, name(5), time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			if got, _ := d.Get(ctx, name(5)); got != nil {
				return // another decoded it
			}
			if n := holders.Add(1); n != 1 {
				t.Errorf("%d holders at once", n)
			}
			decodes.Add(1)
			if err := d.Put(ctx, name(5), []byte("x")); err != nil {
				t.Error(err)
			}
			holders.Add(-1)
		})
	}
	wg.Wait()
	if decodes.Load() != 1 {
		t.Errorf("%d decodes, want 1", decodes.Load())
	}
}

// TestDirLockDiesWithHolder: a lock held by another process (flock(1))
// keeps this one out while that process lives (--close: its child does not inherit the lock) and is free once it is
// killed: a crashed holder never blocks the others.
func TestDirLockDiesWithHolder(t *testing.T) {
	flock := testenv.LookPath(t, "flock")
	dir := t.TempDir()
	d, err := OpenDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	n := name(3)
	if err := os.Mkdir(filepath.Join(dir, n[:2]), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(flock, "--close", filepath.Join(dir, lockPath(n)), "sh", "-c", "echo locked; exec sleep 600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // killed as a group, sleep included
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	defer kill() //nolint:errcheck // test; killed below
	if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || l != "locked\n" {
		t.Fatalf("flock: %q, %v", l, err)
	}
	if f, held, err := d.tryLock(lockPath(n)); held || err != nil {
		f.Close() //nolint:errcheck // test
		t.Fatalf("locked a name another process holds (%v)", err)
	}
	// Waiting for the holder ends by the deadline, without the lock.
	if release, err := d.Lock(context.Background(), n, 0); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	if err := kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed
	f, held, err := d.tryLock(lockPath(n))
	if !held || err != nil {
		t.Fatalf("lock of a killed holder not free: %v", err)
	}
	f.Close() //nolint:errcheck // test
}

// TestDirEvictionKeepsOpenEntry: an entry another process is reading when
// eviction removes it is still read whole, and eviction removes the lock
// file of an evicted entry only when nobody holds it.
func TestDirEvictionKeepsOpenEntry(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	ctx := context.Background()
	val := make([]byte, 300)
	for i := range val {
		val[i] = byte(i)
	}
	if err := d.Put(ctx, name(0), val); err != nil {
		t.Fatal(err)
	}
	release, err := d.Lock(ctx, name(1), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, name(1), val); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for i := range 2 {
		if err := os.Chtimes(filepath.Join(dir, name(i)[:2], name(i)), old, old); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := os.Open(filepath.Join(dir, name(0)[:2], name(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()     //nolint:errcheck // test
	for i := 2; i < 5; i++ { // past the limit: 0 and 1 go
		if err := d.Put(ctx, name(i), val); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if got, _ := d.Get(ctx, name(i)); got != nil {
			t.Errorf("entry %d not evicted", i)
		}
	}
	got := make([]byte, 400)
	if n, _ := reader.Read(got); n != len(val) || string(got[:n]) != string(val) {
		t.Errorf("an evicted entry open for reading read %d bytes, want it whole", n)
	}
	if _, err := os.Lstat(filepath.Join(dir, lockPath(name(1)))); err != nil {
		t.Errorf("lock file of a held lock removed: %v", err)
	}
	release()
}
