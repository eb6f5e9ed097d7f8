package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// registryStore serves an image of a registry as if it were an OCI layout,
// so that the layout reader (index, nested indexes, platforms, digests) is
// the one used for every format: oci-layout and index.json are made up,
// index.json listing the manifest the reference resolves to; blobs/ALG/HEX
// is fetched on demand, from the manifests endpoint for the manifests and
// indexes seen so far, from the blobs endpoint for the rest. Nothing is
// stored: each open is one HTTP request whose body streams into the
// reader's digests.
type registryStore struct {
	ctx    context.Context
	ref    name.Reference
	repo   name.Repository
	client *http.Client
	scheme string

	mu        sync.Mutex
	manifests map[v1.Hash][]byte // manifests and indexes already fetched
	kinds     map[v1.Hash]bool   // digests served by the manifests endpoint
	sizes     map[v1.Hash]int64  // descriptor sizes seen in manifests
	index     []byte             // the synthesised index.json
}

var _ store = (*registryStore)(nil)

// acceptManifests lists what is asked of the manifests endpoint.
var acceptManifests = strings.Join([]string{
	string(types.OCIImageIndex), string(types.OCIManifestSchema1),
	string(types.DockerManifestList), string(types.DockerManifestSchema2),
}, ", ")

// openRegistryStore resolves ref (a tag or a digest, or the digest of
// override when set) on its registry.
func openRegistryStore(ctx context.Context, ref Reference, o RegistryOptions) (*registryStore, error) {
	r, err := ParseRegistryName(ref.Path, o)
	if err != nil {
		return nil, err
	}
	if ref.Digest != (v1.Hash{}) {
		r = r.Context().Digest(ref.Digest.String())
	}
	inner := o.Transport
	if inner == nil {
		inner = remote.DefaultTransport
	}
	rt := transport.NewRetry(inner,
		transport.WithRetryBackoff(o.backoff()),
		transport.WithRetryStatusCodes(RetryStatusCodes...),
		transport.WithRetryPredicate(retryable))
	rt = transport.NewUserAgent(rt, "layerlint")
	reg := r.Context().Registry
	auth, err := authn.Resolve(ctx, o.keychain(), reg)
	if err != nil {
		return nil, fmt.Errorf("finding credentials for registry %s: %w: %w", reg.RegistryStr(), ErrUnreachable, err)
	}
	t, err := transport.NewWithContext(ctx, reg, auth, rt, []string{r.Context().Scope(transport.PullScope)})
	if err != nil {
		return nil, registryError(reg.RegistryStr(), ref.Path, "reaching the registry", err)
	}
	rs := &registryStore{
		ctx: ctx, ref: r, repo: r.Context(), client: &http.Client{Transport: t}, scheme: reg.Scheme(),
		manifests: map[v1.Hash][]byte{}, kinds: map[v1.Hash]bool{}, sizes: map[v1.Hash]int64{},
	}
	raw, mt, err := rs.fetchManifest(r.Identifier())
	if err != nil {
		return nil, err
	}
	root := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: sha256Hash(raw)}
	if d, ok := r.(name.Digest); ok {
		want, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", ref.Path, ErrInvalid, err)
		}
		if !sameHash(want, root.Digest) {
			return nil, fmt.Errorf("manifest %s of %s: content has digest %s: %w", want, rs.describe(), root.Digest, ErrDigestMismatch)
		}
	}
	rs.remember(root.Digest, raw)
	rs.index, err = json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: root.MediaType, Size: root.Size, Digest: root.Digest,
			Annotations: map[string]string{specs.AnnotationRefName: ref.Path},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", ref.Path, err)
	}
	return rs, nil
}

// retryable is remote's retry predicate without its logging: a
// connection that broke before a response came is tried again.
func retryable(err error) bool {
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func (rs *registryStore) describe() string {
	return "registry " + rs.repo.RegistryStr() + " repository " + rs.repo.RepositoryStr()
}

// remember records a manifest or index and what it names: the entries of
// an index are fetched from the manifests endpoint, the sizes of config
// and layers answer stat without a request. Malformed JSON is left to the
// layout reader to report.
func (rs *registryStore) remember(h v1.Hash, raw []byte) {
	var probe struct {
		Manifests []v1.Descriptor `json:"manifests"`
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
	}
	_ = json.Unmarshal(raw, &probe) // see above
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.manifests[h] = raw
	rs.kinds[h] = true
	for _, d := range probe.Manifests {
		rs.kinds[d.Digest] = true
	}
	if probe.Config != nil {
		rs.sizes[probe.Config.Digest] = probe.Config.Size
	}
	for _, d := range probe.Layers {
		rs.sizes[d.Digest] = d.Size
	}
}

func (rs *registryStore) url(kind, id string) string {
	u := url.URL{Scheme: rs.scheme, Host: rs.repo.RegistryStr(), Path: "/v2/" + rs.repo.RepositoryStr() + "/" + kind + "/" + id}
	return u.String()
}

// fetchManifest GETs a manifest or index by tag or digest, capped at
// maxJSONSize.
func (rs *registryStore) fetchManifest(id string) (_ []byte, _ types.MediaType, err error) {
	req, err := http.NewRequestWithContext(rs.ctx, http.MethodGet, rs.url("manifests", id), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: %w", rs.describe(), ErrInvalid, err)
	}
	req.Header.Set("Accept", acceptManifests)
	resp, err := rs.client.Do(req)
	if err != nil {
		return nil, "", registryError(rs.repo.RegistryStr(), rs.repo.RepositoryStr()+refSep(id)+id, "fetching manifest", err)
	}
	defer func() {
		if cerr := resp.Body.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, "", registryError(rs.repo.RegistryStr(), rs.repo.RepositoryStr()+refSep(id)+id, "fetching manifest", err)
	}
	raw, err := readCapped(resp.Body, maxJSONSize)
	if err != nil {
		return nil, "", registryError(rs.repo.RegistryStr(), rs.repo.RepositoryStr()+refSep(id)+id, "reading manifest", err)
	}
	mt := types.MediaType(resp.Header.Get("Content-Type"))
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.MediaType != "" {
		mt = probe.MediaType // the content outranks the header
	}
	return raw, mt, nil
}

// refSep joins a repository and a tag (":") or a digest ("@").
func refSep(id string) string {
	if strings.Contains(id, ":") {
		return "@"
	}
	return ":"
}

// digestOfName parses blobs/ALG/HEX.
func digestOfName(n string) (v1.Hash, bool) {
	rest, ok := strings.CutPrefix(cleanName(n), "blobs/")
	if !ok {
		return v1.Hash{}, false
	}
	alg, hx, ok := strings.Cut(rest, "/")
	if !ok {
		return v1.Hash{}, false
	}
	h, err := v1.NewHash(alg + ":" + hx)
	return h, err == nil
}

func (rs *registryStore) open(n string) (io.ReadCloser, int64, error) {
	switch cleanName(n) {
	case specs.ImageLayoutFile:
		b := []byte(`{"imageLayoutVersion":"1.0.0"}`)
		return io.NopCloser(strings.NewReader(string(b))), int64(len(b)), nil
	case "index.json":
		return io.NopCloser(strings.NewReader(string(rs.index))), int64(len(rs.index)), nil
	}
	h, ok := digestOfName(n)
	if !ok {
		return nil, 0, fmt.Errorf("%s in %s: %w", n, rs.describe(), ErrNotFound)
	}
	rs.mu.Lock()
	raw, have := rs.manifests[h]
	isManifest := rs.kinds[h]
	rs.mu.Unlock()
	if have {
		return io.NopCloser(strings.NewReader(string(raw))), int64(len(raw)), nil
	}
	if isManifest {
		raw, _, err := rs.fetchManifest(h.String())
		if err != nil {
			return nil, 0, err
		}
		if got := sha256Hash(raw); h.Algorithm == "sha256" && !sameHash(got, h) {
			return nil, 0, fmt.Errorf("manifest %s of %s: content has digest %s: %w", h, rs.describe(), got, ErrDigestMismatch)
		}
		rs.remember(h, raw)
		return io.NopCloser(strings.NewReader(string(raw))), int64(len(raw)), nil
	}
	return rs.fetchBlob(h)
}

// fetchBlob GETs a blob. Its body streams to the caller, which verifies
// it; a read that fails midway (the registry died) is an ErrUnreachable
// naming the blob.
func (rs *registryStore) fetchBlob(h v1.Hash) (io.ReadCloser, int64, error) {
	ref := rs.repo.RepositoryStr() + "@" + h.String()
	req, err := http.NewRequestWithContext(rs.ctx, http.MethodGet, rs.url("blobs", h.String()), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w: %w", rs.describe(), ErrInvalid, err)
	}
	resp, err := rs.client.Do(req)
	if err != nil {
		return nil, 0, registryError(rs.repo.RegistryStr(), ref, "fetching blob", err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, 0, errors.Join(registryError(rs.repo.RegistryStr(), ref, "fetching blob", err), resp.Body.Close())
	}
	body := &remoteBody{rc: resp.Body, reg: rs.repo.RegistryStr(), ref: ref}
	rs.mu.Lock()
	size, known := rs.sizes[h]
	rs.mu.Unlock()
	if known {
		// A registry that sends more than the descriptor says (or never
		// stops) is read one byte past the size, which fails the size
		// check, never without end.
		return &limitedBody{Reader: io.LimitReader(body, size+1), c: body}, size, nil
	}
	return body, resp.ContentLength, nil
}

// limitedBody caps what is read of a body and closes the body.
type limitedBody struct {
	io.Reader
	c io.Closer
}

func (l *limitedBody) Close() error { return l.c.Close() }

// remoteBody maps the errors of a response body being read.
type remoteBody struct {
	rc       io.ReadCloser
	reg, ref string
}

func (b *remoteBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF { //nolint:errorlint // io.Reader returns io.EOF itself
		err = registryError(b.reg, b.ref, "reading blob", err)
	}
	return n, err
}

func (b *remoteBody) Close() error { return b.rc.Close() }

// stat answers from the sizes of the manifests read, else with a HEAD.
func (rs *registryStore) stat(n string) (int64, error) {
	switch cleanName(n) {
	case specs.ImageLayoutFile, "index.json":
		rc, size, err := rs.open(n)
		if err != nil {
			return 0, err
		}
		return size, rc.Close()
	}
	h, ok := digestOfName(n)
	if !ok {
		return 0, fmt.Errorf("%s in %s: %w", n, rs.describe(), ErrNotFound)
	}
	rs.mu.Lock()
	size, ok := rs.sizes[h]
	rs.mu.Unlock()
	if ok {
		return size, nil
	}
	req, err := http.NewRequestWithContext(rs.ctx, http.MethodHead, rs.url("blobs", h.String()), nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %w", rs.describe(), ErrInvalid, err)
	}
	ref := rs.repo.RepositoryStr() + "@" + h.String()
	resp, err := rs.client.Do(req)
	if err != nil {
		return 0, registryError(rs.repo.RegistryStr(), ref, "checking blob", err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return 0, errors.Join(registryError(rs.repo.RegistryStr(), ref, "checking blob", err), resp.Body.Close())
	}
	return resp.ContentLength, resp.Body.Close()
}

func (rs *registryStore) readAt(n string, p []byte, off int64) (int, error) {
	return 0, fmt.Errorf("%s in %s: no random access over HTTP: %w", n, rs.describe(), ErrInvalid)
}

func (rs *registryStore) has(n string) bool {
	switch cleanName(n) {
	case specs.ImageLayoutFile, "index.json":
		return true
	}
	return false
}

func (rs *registryStore) close() error {
	rs.client.CloseIdleConnections()
	return nil
}

// netReason shortens a network error to its cause; url.Error repeats the
// URL, which the message names already.
func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}
