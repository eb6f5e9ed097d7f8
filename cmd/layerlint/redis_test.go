package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// reportsByRef maps each line's reference to its report, as JSON.
func reportsByRef(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range parseLines(t, out) {
		if l.Error != "" {
			t.Errorf("%s: %s", l.Reference, l.Error)
		}
		b, err := json.Marshal(l.Report)
		if err != nil {
			t.Fatal(err)
		}
		m[l.Reference] = string(b)
	}
	return m
}

// decodedDigests collects the LAYERLINT_DEBUG=decodes lines of stderr.
func decodedDigests(stderr string) []string {
	var ds []string
	for l := range strings.Lines(stderr) {
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "layerlint: debug: decoded "); ok {
			ds = append(ds, d)
		}
	}
	return ds
}

// TestTwoProcessesShareCache runs two layerlint processes at once over the
// same images with one shared cache, a Redis server or a cache folder:
// between them every layer is decoded exactly once, and both report what a
// run without a cache reports.
func TestTwoProcessesShareCache(t *testing.T) {
	for _, backend := range []string{"redis", "dir"} {
		t.Run(backend, func(t *testing.T) {
			var flags []string
			if backend == "redis" {
				flags = []string{"--cache", testsupport.StartRedis(t).URL(0)}
			} else {
				flags = []string{"--cache-dir", t.TempDir()}
			}
			twoProcessesShareCache(t, flags)
		})
	}
}

func twoProcessesShareCache(t *testing.T, cacheFlags []string) {
	bin := filepath.Join(binaryDir(t), "layerlint")
	imgs := batchImages(t, 4)
	code, want, errs := runCLI(t, append([]string{"analyze", "--no-cache"}, imgs...)...)
	if code != ExitOK {
		t.Fatalf("reference run: exit %d: %s", code, errs)
	}
	wantReports := reportsByRef(t, want)

	type result struct {
		out, errs string
		err       error
	}
	results := make([]result, 2)
	var cmds []*exec.Cmd
	var outs, errbs [2]bytes.Buffer
	for i := range 2 {
		args := append(append([]string{"analyze"}, cacheFlags...), "--jobs", "2")
		cmd := exec.Command(bin, append(args, imgs...)...)
		cmd.Env = append(os.Environ(), "LAYERLINT_DEBUG=decodes")
		cmd.Stdout, cmd.Stderr = &outs[i], &errbs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		results[i] = result{err: cmd.Wait()}
		results[i].out, results[i].errs = outs[i].String(), errbs[i].String()
	}
	seen := map[string]int{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("process %d: %v\n%s", i, r.err, r.errs)
		}
		if strings.Contains(r.errs, "warning") {
			t.Errorf("process %d warned: %s", i, r.errs)
		}
		got := reportsByRef(t, r.out)
		for ref, rep := range wantReports {
			if got[ref] != rep {
				t.Errorf("process %d: report of %s differs from the uncached run", i, ref)
			}
		}
		for _, d := range decodedDigests(r.errs) {
			seen[d]++
		}
	}
	// The sample's four layers are shared; each image adds one.
	if len(seen) != 4+4 {
		t.Errorf("%d distinct layers decoded, want 8: %v", len(seen), seen)
	}
	for d, n := range seen {
		if n != 1 {
			t.Errorf("layer %s decoded %d times between the two processes", d, n)
		}
	}
}

// TestRedisKilledMidRun: a Redis that goes away during a batch turns the
// cache off with one warning; every report is still right.
func TestRedisKilledMidRun(t *testing.T) {
	srv := testsupport.StartRedis(t)
	bin := filepath.Join(binaryDir(t), "layerlint")
	// Images big enough that the batch is still early when Redis dies.
	var imgs []string
	for i := range 8 {
		l := fixtures.NewLayer().Dir("data")
		for j := range 3000 {
			l.File(fmt.Sprintf("data/f%05d", j), fmt.Appendf(nil, "%d-%d", i, j))
		}
		img := fixtures.Sample().Add(l)
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("img%d", i))
		if _, err := img.WriteOCILayout(dir); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, dir)
	}
	code, want, errs := runCLI(t, append([]string{"analyze", "--no-cache"}, imgs...)...)
	if code != ExitOK {
		t.Fatalf("reference run: exit %d: %s", code, errs)
	}
	wantReports := reportsByRef(t, want)

	cmd := exec.Command(bin, append([]string{"analyze", "--cache", srv.URL(0), "--jobs", "1"}, imgs...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(stdout)
	first, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v (%s)", err, errb.String())
	}
	srv.Kill()
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(rd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("layerlint: %v\n%s", err, errb.String())
	}
	got := reportsByRef(t, first+rest.String())
	if len(got) != len(imgs) {
		t.Errorf("%d reports, want %d", len(got), len(imgs))
	}
	for ref, rep := range wantReports {
		if got[ref] != rep {
			t.Errorf("report of %s differs from the uncached run", ref)
		}
	}
	if n := strings.Count(errb.String(), "warning: layer cache off"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, errb.String())
	}
}
