package testsupport

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/layerlint/layerlint/internal/testenv"
)

// Redis is a redis-server started for one test, on a loopback port.
type Redis struct {
	Addr string
	cmd  *exec.Cmd
}

// StartRedis starts Debian's redis-server on a free loopback port with no
// persistence, and stops it when the test ends. It skips (fails in CI)
// when redis-server is not installed.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := testenv.LookPath(t, "redis-server")
	var lastErr error
	for range 5 { // a port found free may be taken before the server binds it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
		r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", //nolint:gosec // the installed redis-server
			"--save", "", "--appendonly", "no", "--dir", t.TempDir())
		if err := r.cmd.Start(); err != nil {
			t.Fatalf("starting redis-server: %v", err)
		}
		if lastErr = r.waitReady(); lastErr == nil {
			t.Cleanup(r.Kill)
			return r
		}
		r.Kill()
	}
	t.Fatalf("redis-server did not answer: %v", lastErr)
	return nil
}

// URL is the server's redis:// URL for database db.
func (r *Redis) URL(db int) string { return fmt.Sprintf("redis://%s/%d", r.Addr, db) }

// Kill stops the server at once (SIGKILL) and waits for it.
func (r *Redis) Kill() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait() // killed: the error is the signal
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close() //nolint:errcheck // only probing
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady pings the server until it answers PONG, for up to 10 seconds
// (a bound on waiting, not a timing assertion).
func (r *Redis) waitReady() error {
	var err error
	for range 200 {
		var c net.Conn
		c, err = net.DialTimeout("tcp", r.Addr, time.Second)
		if err == nil {
			_, err = c.Write([]byte("PING\r\n"))
			var line string
			if err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			_ = c.Close()
			if err == nil && line == "+PONG\r\n" {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("answer %q", line)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}
