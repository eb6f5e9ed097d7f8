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

// TestRedisEntryBound: an entry longer than the bound is a miss, never
// read (Redis would send it whole); a hit renews the TTL.
func TestRedisEntryBound(t *testing.T) {
	srv := testsupport.StartRedis(t)
	ctx := context.Background()
	r, err := OpenRedis(ctx, srv.URL(2), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() //nolint:errcheck // test
	r.maxEntry = 8
	for _, v := range []string{"12345678", "123456789"} {
		if err := r.c.Set(ctx, entryKey(name(len(v))), v, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := r.Get(ctx, name(8)); string(got) != "12345678" || err != nil {
		t.Errorf("entry at the bound: %q, %v", got, err)
	}
	if ttl, _ := r.c.TTL(ctx, entryKey(name(8))).Result(); ttl <= time.Minute {
		t.Errorf("TTL after a hit %v, want it renewed to an hour", ttl)
	}
	if got, err := r.Get(ctx, name(9)); got != nil || err != nil {
		t.Errorf("entry past the bound: %q, %v; want a miss", got, err)
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
