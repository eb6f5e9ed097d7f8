package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
)

// hostileHistoryImage has a layer whose history would retitle the
// terminal and ring its bell if printed raw, and a layer large enough to
// be read in several progress steps.
func hostileHistoryImage(t *testing.T) string {
	t.Helper()
	big := make([]byte, 600<<10)
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	dir := t.TempDir()
	_, err := fixtures.NewImage().
		Add(fixtures.NewLayer().File("etc/hostname", []byte("x\n")), fixtures.CreatedBy("RUN echo \x1b]0;pwned\x07 \x1b[2J\nsecond line")).
		Add(fixtures.NewLayer().File("opt/big.bin", big), fixtures.Compressed(fixtures.None), fixtures.CreatedBy("COPY big.bin /opt/")).
		WriteOCILayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// runOnTerminal runs the CLI with standard error on a pseudo-terminal and
// returns what the terminal received.
func runOnTerminal(t *testing.T, args ...string) (code int, stdout, terminal string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Skip(t, "no pseudo-terminal: %v", err)
	}
	defer ptmx.Close() //nolint:errcheck // test cleanup
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, err := io.Copy(&b, ptmx)
		if err != nil && !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrClosed) {
			b.WriteString("\nread error: " + err.Error())
		}
		got <- b.Bytes()
	}()
	var out bytes.Buffer
	code = run(append([]string{"layerlint"}, args...), &out, tty)
	// Closing the last descriptor of the terminal side ends the reader
	// with EIO once it has read everything written.
	if err := tty.Close(); err != nil {
		t.Fatal(err)
	}
	return code, out.String(), string(<-got)
}

func TestProgressOnTerminal(t *testing.T) {
	img := hostileHistoryImage(t)
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		shown    bool
		inStdout string
	}{
		{"analyze", nil, []string{"analyze", img}, true, "Summary"},
		{"lint", nil, []string{"lint", "--fail-on", "never", img}, true, "Verdict"},
		{"ls", nil, []string{"ls", img, "opt"}, true, "/opt/big.bin"},
		{"quiet", nil, []string{"analyze", "--quiet", img}, false, "Summary"},
		{"-q", nil, []string{"lint", "-q", "--fail-on", "never", img}, false, "Verdict"},
		{"LAYERLINT_QUIET", map[string]string{"LAYERLINT_QUIET": "1"}, []string{"analyze", img}, false, "Summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, out, term := runOnTerminal(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, term)
			}
			if !strings.Contains(out, tt.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.inStdout, out)
			}
			if !tt.shown {
				if term != "" {
					t.Errorf("progress shown although asked not to: %q", term)
				}
				return
			}
			// Counted, not timed: the last frame shows both layers done
			// and the big layer's bytes.
			for _, want := range []string{"2/2 layers", "1 COPY big.bin /opt/", " done"} {
				if !strings.Contains(term, want) {
					t.Errorf("terminal lacks %q:\n%q", want, term)
				}
			}
			// Earlier frames may show the layer part read, if the machine
			// was slow enough for one to be drawn: the last one counts.
			all := regexp.MustCompile(`(\d+\.\d kB) / (\d+\.\d kB)`).FindAllStringSubmatch(term, -1)
			if len(all) == 0 {
				t.Errorf("terminal does not show the big layer's bytes:\n%q", term)
			} else if m := all[len(all)-1]; m[1] != m[2] || m[1] < "600" {
				t.Errorf("terminal does not show the big layer read whole (%q):\n%q", m, term)
			}
			if strings.Contains(term, "iB") {
				t.Errorf("binary units (KiB, MiB) on the terminal; the reports use kB, MB:\n%q", term)
			}
			// The history is shown escaped, on one line.
			if !strings.Contains(term, `RUN echo \x1b]0;pwned\a \x1b[2J second line`) {
				t.Errorf("terminal lacks the escaped history:\n%q", term)
			}
			// The display itself only moves the cursor and clears lines
			// (CSI); an OSC (retitling) or a bell can only come from the image.
			if strings.Contains(term, "\x1b]") || strings.Contains(term, "\a") {
				t.Errorf("raw control sequence from the image reached the terminal:\n%q", term)
			}
		})
	}
}

// TestNoProgressOffTerminal: a file or a pipe on standard error (a CI log)
// never receives progress.
func TestNoProgressOffTerminal(t *testing.T) {
	t.Parallel()
	img := hostileHistoryImage(t)
	f, err := os.Create(t.TempDir() + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // test cleanup
	var out bytes.Buffer
	if code := run([]string{"layerlint", "analyze", img}, &out, f); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 0 {
		t.Errorf("standard error, a file, received %d bytes (%v)", fi.Size(), err)
	}
	if isTerminal(&out) || isTerminal(f) {
		t.Error("a buffer or a file taken for a terminal")
	}
}

func TestProgressLabel(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"COPY . /app", "COPY . /app"},
		{"RUN a &&\n\tb", "RUN a && b"},
		{"\x1b]0;t\x07", `\x1b]0;t\a`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"\u202egnp.exe", `\u202egnp.exe`},
		{strings.Repeat("é", 60), strings.Repeat("é", 47) + "…"},
	}
	for _, tt := range tests {
		if got := progressLabel(tt.in, 48); got != tt.want {
			t.Errorf("progressLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestProgressStopsOnFailure: a layer that fails ends the display (the
// bars of unread layers are stopped, not waited for) and the error is
// printed after it.
func TestProgressStopsOnFailure(t *testing.T) {
	t.Parallel()
	code, _, term := runOnTerminal(t, "analyze", imagetest.CorruptSample(t, 1))
	if code != ExitIntegrity {
		t.Fatalf("exit %d, want %d\n%q", code, ExitIntegrity, term)
	}
	i, j := strings.Index(term, "layers"), strings.Index(term, "layerlint: ")
	if i < 0 || j < i || !strings.Contains(term[j:], "digest mismatch") {
		t.Errorf("want the display, then the error:\n%q", term)
	}
}

// TestBatchProgress: analyzing several images shows one line counting
// the images and the bytes read; not when standard output shares the
// terminal, where the JSON lines would break it.
func TestBatchProgress(t *testing.T) {
	t.Parallel()
	img := hostileHistoryImage(t)
	code, out, term := runOnTerminal(t, "analyze", "--jobs", "2", img, sample, img)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, term)
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("%d JSON lines, want 3", n)
	}
	if !strings.Contains(term, "3/3 images") || !regexp.MustCompile(`\d+\.\d [kM]B read`).MatchString(term) {
		t.Errorf("terminal:\n%q", term)
	}
	if strings.Contains(term, "\x1b]") || strings.Contains(term, "\a") {
		t.Errorf("raw control sequence reached the terminal:\n%q", term)
	}
	if strings.Contains(term, "iB") {
		t.Errorf("binary units (KiB, MiB) on the terminal; the reports use kB, MB:\n%q", term)
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Skip(t, "no pseudo-terminal: %v", err)
	}
	defer ptmx.Close() //nolint:errcheck // test cleanup
	defer tty.Close()  //nolint:errcheck // test cleanup
	if bp := startBatchProgress(false, &bytes.Buffer{}, tty, 2); bp == nil {
		t.Error("no batch progress with only standard error on the terminal")
	} else {
		bp.close()
	}
	if bp := startBatchProgress(false, tty, tty, 2); bp != nil {
		bp.close()
		t.Error("batch progress shown with standard output on the terminal")
	}
}

// TestFixProgress: fix shows the read of the source, then the re-read of
// what it wrote, layer by layer.
func TestFixProgress(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, term := runOnTerminal(t, "fix", "--squash", "all", "--output", out, sample)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%q", code, stdout, term)
	}
	if !strings.Contains(stdout, "wrote ") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, want := range []string{"4/4 layers", "verify " + out + " 0", "verify " + out + " 1"} {
		if !strings.Contains(term, want) {
			t.Errorf("terminal lacks %q:\n%q", want, term)
		}
	}
}

// TestFixProgressOnTerminal: fix shows the layers it writes, then the
// re-read of what it wrote; counted, not timed.
func TestFixProgressOnTerminal(t *testing.T) {
	t.Parallel()
	img := hostileHistoryImage(t)
	out := t.TempDir() + "/out"
	code, stdout, term := runOnTerminal(t, "fix", "--squash", "all", "--base-layers", "0", "--output", out, img)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, term)
	}
	for _, want := range []string{"write ", "1/1 layers", "verify "} {
		if !strings.Contains(term, want) {
			t.Errorf("terminal lacks %q:\n%q", want, term)
		}
	}
	if strings.Contains(term, "\x1b]") || strings.Contains(term, "\a") {
		t.Errorf("raw control sequence from the image reached the terminal:\n%q", term)
	}
}
