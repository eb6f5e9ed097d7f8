package layercache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTTL is how long a Redis entry lives after it was last used.
const DefaultTTL = 7 * 24 * time.Hour

// Timings of the Redis lock: a holder keeps its lock alive every
// lockRefresh while it decodes; a lock whose holder died expires after
// lockTTL; a waiter looks for the entry every lockPoll.
const (
	lockTTL     = 30 * time.Second
	lockRefresh = 10 * time.Second
	lockPoll    = 50 * time.Millisecond
)

// Redis is a Store shared by many runners: entries under "layerlint:e:"
// with a TTL refreshed by every hit, locks under "layerlint:l:" taken with
// SET NX PX so that two runners do not decode the same layer at once.
type Redis struct {
	c   *redis.Client
	ttl time.Duration
	// maxEntry bounds what Get reads of one entry (maxEntryBytes; tests
	// lower it).
	maxEntry int64
}

var (
	_ Store  = (*Redis)(nil)
	_ Locker = (*Redis)(nil)
)

// quiet is go-redis's logger for layerlint: the library logs dial failures
// on stderr by itself, which is the CLI's business (it warns once).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// silenceOnce sets go-redis's process-wide logger once, before the first
// client exists; go-redis offers no logger per client.
var silenceOnce sync.Once

// OpenRedis connects to the Redis server of url (redis://HOST:PORT/DB, as
// go-redis parses it) and checks that it answers. Timeouts are short: a
// cache that is slow to answer costs more than it saves, and the caller
// turns the cache off at the first error.
func OpenRedis(ctx context.Context, url string, ttl time.Duration) (*Redis, error) {
	silenceOnce.Do(func() { redis.SetLogger(quiet{}) })
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache URL: %w", err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 10 * time.Second
	opts.WriteTimeout = 10 * time.Second
	opts.MaxRetries = 1
	opts.DisableIdentity = true // CLIENT SETINFO is not in older servers
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	r := &Redis{c: redis.NewClient(opts), ttl: ttl, maxEntry: maxEntryBytes}
	if err := r.c.Ping(ctx).Err(); err != nil {
		_ = r.c.Close() // the ping error says more
		return nil, fmt.Errorf("redis %s: %w", opts.Addr, err)
	}
	return r, nil
}

// Close closes the connections.
func (r *Redis) Close() error { return r.c.Close() }

func entryKey(name string) string { return "layerlint:e:" + name }
func lockKey(name string) string  { return "layerlint:l:" + name }

// getScript returns the entry KEYS[1] and renews its TTL (ARGV[2] ms), or
// nil when there is none or it is longer than ARGV[1] bytes: Redis values
// come back whole (up to 512 MB), so the length is checked on the server,
// in the same round trip, before anything is sent.
var getScript = redis.NewScript(`
local n = redis.call("STRLEN", KEYS[1])
if n == 0 or n > tonumber(ARGV[1]) then return false end
local v = redis.call("GET", KEYS[1])
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return v`)

// Get implements Store; a hit refreshes the entry's TTL. An entry longer
// than the bound is a miss, never read.
func (r *Redis) Get(ctx context.Context, name string) ([]byte, error) {
	b, err := getScript.Run(ctx, r.c, []string{entryKey(name)}, r.maxEntry, r.ttl.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis GET: %w", err)
	}
	return []byte(b), nil
}

// Put implements Store.
func (r *Redis) Put(ctx context.Context, name string, data []byte) error {
	if err := r.c.Set(ctx, entryKey(name), data, r.ttl).Err(); err != nil {
		return fmt.Errorf("redis SET: %w", err)
	}
	return nil
}

// unlockScript deletes a lock only if it still holds our token: a lock
// that expired and was taken by another runner is not ours to delete.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// extendScript pushes a lock's expiry only if it still holds our token.
var extendScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)

// Lock implements Locker. It returns when this runner holds the lock (the
// release function then deletes it), when the entry appeared (another
// runner decoded the layer), or when wait has passed (the caller decodes
// the layer itself). A lock is kept alive while held and expires on its
// own if its holder dies.
func (r *Redis) Lock(ctx context.Context, name string, wait time.Duration) (func(), error) {
	var tok [16]byte
	_, _ = rand.Read(tok[:]) // never fails (crypto/rand)
	token := hex.EncodeToString(tok[:])
	lk := lockKey(name)
	deadline := time.Now().Add(wait)
	for {
		ok, err := r.c.SetNX(ctx, lk, token, lockTTL).Result()
		if err != nil {
			return func() {}, fmt.Errorf("redis SET NX: %w", err)
		}
		if ok {
			return r.hold(lk, token), nil
		}
		n, err := r.c.Exists(ctx, entryKey(name)).Result()
		if err != nil {
			return func() {}, fmt.Errorf("redis EXISTS: %w", err)
		}
		if n > 0 || time.Now().After(deadline) {
			return func() {}, nil
		}
		select {
		case <-ctx.Done():
			return func() {}, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// hold keeps the lock lk alive until the returned function releases it.
func (r *Redis) hold(lk, token string) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(lockRefresh)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = extendScript.Run(context.Background(), r.c, []string{lk}, token, lockTTL.Milliseconds()).Err() // an error lets the lock expire, which is safe
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = unlockScript.Run(ctx, r.c, []string{lk}, token).Err() // an error lets the lock expire, which is safe
		})
	}
}
