package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestHostileRegistry: a registry that redirects forever, sends an error
// whose text holds control characters, cuts a blob short under a lying
// Content-Length or answers with control characters in its headers: each
// run ends with its documented exit code and one escaped line, alone or in
// a batch.
func TestHostileRegistry(t *testing.T) {
	t.Parallel()
	const evil = "\x1b[2J\n::error::forged\u202e"
	var modeV atomic.Value // the handler reads it on its own goroutines
	modeV.Store("")
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode, _ := modeV.Load().(string)
		if r.Method != http.MethodGet && r.Method != http.MethodHead || mode == "" || r.URL.Path == "/v2/" {
			reg.ServeHTTP(w, r)
			return
		}
		isBlob := strings.Contains(r.URL.Path, "/blobs/")
		switch mode {
		case "redirect-loop":
			if isBlob {
				http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
		case "redirect-loop-manifest":
			if !isBlob {
				http.Redirect(w, r, r.URL.Path+"x", http.StatusTemporaryRedirect)
				return
			}
		case "error-evil":
			if isBlob {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"`+strings.ReplaceAll(strings.ReplaceAll(evil, "\x1b", `\u001b`), "\n", `\n`)+`"}]}`)
				return
			}
		case "error-evil-manifest":
			if !isBlob {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, evil+strings.Repeat("A", 1<<20))
				return
			}
		case "content-length-short":
			if isBlob {
				rec := httptest.NewRecorder()
				reg.ServeHTTP(rec, r)
				b := rec.Body.Bytes()
				w.Header().Set("Content-Length", "5")
				_, _ = w.Write(b[:5])
				return
			}
		case "evil-content-type":
			if !isBlob {
				rec := httptest.NewRecorder()
				reg.ServeHTTP(rec, r)
				w.Header().Set("Content-Type", evil)
				w.Header().Set("Docker-Content-Digest", evil)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	pushLayout(t, sample, host+"/app:1")
	for _, tc := range []struct {
		mode string
		code int
		has  string
	}{
		{"redirect-loop", ExitEnvironment, "stopped after 10 redirects"},
		{"redirect-loop-manifest", ExitEnvironment, "fetching manifest app:1"},
		{"error-evil", ExitInput, "404 Not Found"},
		{"error-evil-manifest", ExitEnvironment, "fetching manifest app:1"},
		{"content-length-short", ExitIntegrity, "size 5, descriptor says"},
		{"evil-content-type", ExitEnvironment, "fetching manifest app:1"},
	} {
		modeV.Store(tc.mode)
		ref := "registry:" + host + "/app:1"
		code, out, errs := runCLI(t, "analyze", "--no-cache", ref)
		if code != tc.code || !strings.HasPrefix(errs, "layerlint: ") || !strings.Contains(errs, tc.has) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", tc.mode, code, tc.code, tc.has, errs)
		}
		bcode, bout, berrs := runCLI(t, "analyze", "--no-cache", ref, ref)
		if bcode != tc.code || strings.Count(bout, "\n") != 2 || !strings.Contains(bout, `"exitCode":`) {
			t.Errorf("%s: batch exit %d, want %d:\n%s%s", tc.mode, bcode, tc.code, bout, berrs)
		}
		for _, s := range []string{out, errs, bout, berrs} {
			if strings.ContainsAny(s, "\x1b\u202e") || strings.Contains(s, "\n::") || strings.HasPrefix(s, "::") {
				t.Errorf("%s: a control character or workflow command reaches the output:\n%s", tc.mode, s)
			}
		}
	}
	modeV.Store("")
}
