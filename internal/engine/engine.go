// Package engine is a small client of the Docker Engine API, which Podman's
// service also serves: it saves an image as a `docker save` stream and
// loads one. Two endpoints do not justify the Docker client module and its
// dependencies; net/http over the socket does.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/layerlint/layerlint/internal/escape"
)

// Errors callers branch on.
var (
	// ErrUnreachable: no engine answers on the socket, or it broke the
	// connection.
	ErrUnreachable = errors.New("engine unreachable")
	// ErrNotFound: the engine has no such image.
	ErrNotFound = errors.New("no such image")
	// ErrFailed: the engine answered with an error.
	ErrFailed = errors.New("engine error")
)

// DefaultDockerHost is where Docker listens when DOCKER_HOST is unset.
const DefaultDockerHost = "unix:///var/run/docker.sock"

// DockerHost returns the engine address getenv gives: DOCKER_HOST, else
// Docker's default socket.
func DockerHost(getenv func(string) string) string {
	if h := getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return DefaultDockerHost
}

// PodmanHost finds Podman's API socket: CONTAINER_HOST when it is a unix
// socket, else the rootless socket under XDG_RUNTIME_DIR, else the
// system one. It returns the first that exists, or the system one.
func PodmanHost(getenv func(string) string) string {
	if h := getenv("CONTAINER_HOST"); strings.HasPrefix(h, "unix://") {
		return h
	}
	var cands []string
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		cands = append(cands, filepath.Join(d, "podman", "podman.sock"))
	}
	cands = append(cands, "/run/podman/podman.sock")
	for _, c := range cands {
		if fi, err := os.Stat(c); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix://" + c
		}
	}
	return "unix://" + cands[len(cands)-1]
}

// Client talks to one engine.
type Client struct {
	host string
	base string
	http *http.Client
}

// New returns a client of the engine at host: unix:///path/to.sock, or
// tcp://HOST:PORT (plain HTTP; meant for loopback).
func New(host string) (*Client, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("engine address %q: %w", host, err)
	}
	c := &Client{host: host}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		if sock == "" {
			return nil, fmt.Errorf("engine address %q: no socket path", host)
		}
		var d net.Dialer
		c.http = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", sock)
			},
			DisableCompression: true,
		}}
		// The host part is never resolved: the dialer ignores it.
		c.base = "http://engine"
	case "tcp", "http":
		if u.Host == "" {
			return nil, fmt.Errorf("engine address %q: no host", host)
		}
		c.http = &http.Client{Transport: &http.Transport{DisableCompression: true}}
		c.base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("engine address %q: want unix:// or tcp://", host)
	}
	return c, nil
}

// Host returns the address the client talks to.
func (c *Client) Host() string { return c.host }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) do(req *http.Request, what string) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s through %s: %w: %w", what, c.host, ErrUnreachable, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close() //nolint:errcheck // the status is the error
	msg := readMessage(resp.Body)
	sentinel := ErrFailed
	if resp.StatusCode == http.StatusNotFound {
		sentinel = ErrNotFound
	}
	return nil, fmt.Errorf("%s through %s: %d %s: %s: %w", what, c.host, resp.StatusCode, http.StatusText(resp.StatusCode), msg, sentinel)
}

// readMessage reads an engine's JSON error ({"message": …}), made safe to
// print.
func readMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10)) // best effort: the status says enough
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return Printable(m.Message)
	}
	return Printable(strings.TrimSpace(string(b)))
}

// Printable returns s cut to 512 bytes and escaped for a terminal
// (internal/escape): what an engine says may quote image names, which are
// untrusted.
func Printable(s string) string {
	const most = 512
	if len(s) > most {
		s = s[:most] + "…"
	}
	return escape.Text(s)
}

// Ping checks that an engine answers.
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, "pinging the engine")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Save streams the `docker save` archive of one image (NAME:TAG, or an
// ID): GET /images/{name}/get.
func (c *Client) Save(ctx context.Context, image string) (io.ReadCloser, error) {
	u := c.base + "/images/" + url.PathEscape(image) + "/get"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("saving %s: %w", image, err)
	}
	resp, err := c.do(req, "saving image "+Printable(image))
	if err != nil {
		return nil, err
	}
	return &body{rc: resp.Body, what: "saving image " + Printable(image) + " through " + c.host}, nil
}

// body marks a connection that breaks while the archive streams.
type body struct {
	rc   io.ReadCloser
	what string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF { //nolint:errorlint // io.Reader returns io.EOF itself
		err = fmt.Errorf("%s: %w: %w", b.what, ErrUnreachable, err)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// Load sends a `docker save` archive to the engine (POST /images/load)
// and returns the names it says it loaded.
func (c *Client) Load(ctx context.Context, archive io.Reader) ([]string, error) {
	// The caller owns archive: the client must not close it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/images/load", io.NopCloser(archive))
	if err != nil {
		return nil, fmt.Errorf("loading an image: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := c.do(req, "loading an image")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end below
	return parseLoad(resp.Body, c.host)
}

// parseLoad reads the JSON messages of a load: {"stream": "Loaded image:
// NAME\n"} per image, or {"error": …} (Docker reports a failed load with
// status 200 and an error message in the stream).
func parseLoad(r io.Reader, host string) ([]string, error) {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	var loaded []string
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return loaded, nil
		}
		if err != nil {
			return loaded, fmt.Errorf("loading an image through %s: reading the answer: %w: %w", host, ErrFailed, err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			return loaded, fmt.Errorf("loading an image through %s: %s: %w", host, Printable(msg), ErrFailed)
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			for _, p := range []string{"Loaded image: ", "Loaded image ID: "} {
				if n, ok := strings.CutPrefix(strings.TrimSpace(line), p); ok {
					// Podman lists several names in one line.
					for _, one := range strings.Split(n, ",") {
						loaded = append(loaded, Printable(strings.TrimSpace(one)))
					}
				}
			}
		}
	}
}
