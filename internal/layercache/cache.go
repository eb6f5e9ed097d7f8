package layercache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
)

// Store keeps entries by name. Get returns (nil, nil) for a name it does
// not hold. Implementations are safe for concurrent use, by several
// goroutines and several processes.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, data []byte) error
}

// Locker is a Store shared by several processes that can lock a name:
// Lock waits until it holds the lock or wait has passed, and returns the
// function that releases it (a no-op when the lock was not taken).
type Locker interface {
	Lock(ctx context.Context, name string, wait time.Duration) (release func(), err error)
}

// Cache is an analyze.LayerCache over a Store. A store that fails turns
// the cache off for the rest of the run, after one warning: analysis goes
// on without a cache and its results are the same.
type Cache struct {
	store Store
	warn  func(error)
	// LockWait bounds how long a process waits for another that decodes
	// the same layer before decoding it itself.
	LockWait time.Duration

	off      atomic.Bool
	warnOnce sync.Once
	// decoding holds a mutex per entry name being decoded in this process,
	// so that images of a batch that share a layer decode it once even
	// when the store cannot lock across processes.
	lockMu  sync.Mutex
	locks   map[string]*keyLock
	hits    atomic.Int64
	corrupt atomic.Int64
}

var (
	_ analyze.LayerCache  = (*Cache)(nil)
	_ analyze.LayerLocker = (*Cache)(nil)
)

// New returns a cache over s; warn (nil for none) hears of the first
// failure of the store, after which the cache is off.
func New(s Store, warn func(error)) *Cache {
	return &Cache{store: s, warn: warn, LockWait: 10 * time.Minute}
}

func (c *Cache) fail(err error) {
	c.off.Store(true)
	c.warnOnce.Do(func() {
		if c.warn != nil {
			c.warn(fmt.Errorf("layer cache off for this run: %w", err))
		}
	})
}

// Get implements analyze.LayerCache. A corrupt or foreign entry is a miss
// (the layer is decoded and the entry rewritten).
func (c *Cache) Get(ctx context.Context, l *source.Layer, verified bool) (*analyze.CachedLayer, bool) {
	if c.off.Load() {
		return nil, false
	}
	key := KeyOf(l)
	data, err := c.store.Get(ctx, key.Name())
	if err != nil {
		c.fail(err)
		return nil, false
	}
	if data == nil {
		return nil, false
	}
	e, err := Decode(key, data)
	if err != nil {
		c.corrupt.Add(1)
		return nil, false
	}
	if verified && !e.Verified {
		return nil, false
	}
	c.hits.Add(1)
	return e, true
}

// Put implements analyze.LayerCache.
func (c *Cache) Put(ctx context.Context, l *source.Layer, e *analyze.CachedLayer) {
	if c.off.Load() {
		return
	}
	key := KeyOf(l)
	data := Encode(key, e)
	if len(data) > maxEntryBytes {
		return // no store would serve it
	}
	if err := c.store.Put(ctx, key.Name(), data); err != nil {
		c.fail(err)
	}
}

// keyLock is a mutex shared by the goroutines that decode one layer, with
// a count of them so that the last one removes it.
type keyLock struct {
	mu    sync.Mutex
	users int
}

// Lock implements analyze.LayerLocker: first among the goroutines of this
// process, then, for stores that lock, among processes.
func (c *Cache) Lock(ctx context.Context, l *source.Layer) (func(), bool) {
	if c.off.Load() {
		return func() {}, false
	}
	name := KeyOf(l).Name()
	local := c.lockLocal(name)
	lk, ok := c.store.(Locker)
	if !ok {
		return local, true
	}
	release, err := lk.Lock(ctx, name, c.LockWait)
	if err != nil {
		local()
		if !errors.Is(err, context.Canceled) {
			c.fail(err)
		}
		return func() {}, false
	}
	return func() { release(); local() }, true
}

// lockLocal takes the in-process lock of name and returns its release.
func (c *Cache) lockLocal(name string) func() {
	c.lockMu.Lock()
	if c.locks == nil {
		c.locks = map[string]*keyLock{}
	}
	kl := c.locks[name]
	if kl == nil {
		kl = &keyLock{}
		c.locks[name] = kl
	}
	kl.users++
	c.lockMu.Unlock()
	kl.mu.Lock()
	return func() {
		kl.mu.Unlock()
		c.lockMu.Lock()
		kl.users--
		if kl.users == 0 {
			delete(c.locks, name)
		}
		c.lockMu.Unlock()
	}
}

// Hits returns how many layers the cache served.
func (c *Cache) Hits() int64 { return c.hits.Load() }

// Corrupt returns how many entries the cache found unreadable and ignored.
func (c *Cache) Corrupt() int64 { return c.corrupt.Load() }
