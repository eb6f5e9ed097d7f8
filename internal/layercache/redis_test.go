package layercache

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/layerlint/layerlint/internal/testsupport"
)

func TestRedisStore(t *testing.T) {
	srv := testsupport.StartRedis(t)
	ctx := context.Background()
	r, err := OpenRedis(ctx, srv.URL(0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() //nolint:errcheck // test
	if got, err := r.Get(ctx, name(0)); got != nil || err != nil {
		t.Fatalf("Get of a missing entry: %q, %v", got, err)
	}
	if err := r.Put(ctx, name(0), []byte("entry")); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, name(0)); string(got) != "entry" || err != nil {
		t.Fatalf("Get: %q, %v", got, err)
	}
	ttl, err := r.c.TTL(ctx, entryKey(name(0))).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("entry TTL %v, %v; want at most an hour", ttl, err)
	}
}

// TestRedisLockOneHolder: of many goroutines that lock one name, one holds
// it at a time; those that wait return when the holder's entry appears.
func TestRedisLockOneHolder(t *testing.T) {
	srv := testsupport.StartRedis(t)
	ctx := context.Background()
	r, err := OpenRedis(ctx, srv.URL(1), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() //nolint:errcheck // test
	var holders, decodes atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			release, err := r.Lock(ctx, name(5), time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			if got, _ := r.Get(ctx, name(5)); got != nil {
				return // another decoded it
			}
			if n := holders.Add(1); n != 1 {
				t.Errorf("%d holders at once", n)
			}
			decodes.Add(1)
			if err := r.Put(ctx, name(5), []byte("x")); err != nil {
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

// TestRedisGoneTurnsCacheOff: once the server is gone, the cache warns
// once and serves nothing; it never fails.
func TestRedisGoneTurnsCacheOff(t *testing.T) {
	srv := testsupport.StartRedis(t)
	ctx := context.Background()
	r, err := OpenRedis(ctx, srv.URL(0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() //nolint:errcheck // test
	var warnings atomic.Int32
	c := New(r, func(error) { warnings.Add(1) })
	srv.Kill()
	for range 3 {
		if _, ok := c.Get(ctx, testLayer(t), true); ok {
			t.Fatal("hit from a dead server")
		}
	}
	if warnings.Load() != 1 {
		t.Errorf("%d warnings, want 1", warnings.Load())
	}
}
