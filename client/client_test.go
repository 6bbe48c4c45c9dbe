package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/govsr/govsr/server"
	"github.com/govsr/govsr/server/servertest"
)

func dial(t *testing.T, cluster *servertest.Cluster, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.MessageSizeMax = cluster.Config.MessageSizeMax
	c, err := Dial(ctx, cluster.Config.Cluster, cluster.Config.Addresses, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Many goroutines share a few sessions; each does read-modify-write on a
// key of its own and on one shared counter, with cas: every increment
// lands exactly once.
func TestConcurrentCallersShareBoundedSessions(t *testing.T) {
	cluster := servertest.StartSmall(t, 3, nil)
	c := dial(t, cluster, Options{SessionsMax: 4})
	ctx := timeout(t, 60*time.Second)
	const goroutines, rounds = 24, 8
	if err := c.Write(ctx, []byte("counter"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	if err := inParallel(goroutines, func(g int) error { return caller(ctx, c, g, rounds) }); err != nil {
		t.Fatal(err)
	}
	got, err := c.Read(ctx, []byte("counter"))
	if err != nil || string(got) != fmt.Sprint(goroutines*rounds) {
		t.Fatalf("counter = %q, %v; want %d", got, err, goroutines*rounds)
	}
	c.mu.Lock()
	sessions := len(c.all)
	c.mu.Unlock()
	if sessions < 2 || sessions > 4 {
		t.Fatalf("%d sessions opened, want 2 to SessionsMax 4", sessions)
	}
}

// inParallel runs f(0) to f(n-1) on goroutines of their own and returns
// the first error.
func inParallel(n int, f func(g int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f(g)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// caller writes and reads back its own key, and increments the counter
// with cas, rounds times.
func caller(ctx context.Context, c *Client, g, rounds int) error {
	key := []byte(fmt.Sprintf("key-%d", g))
	for i := range rounds {
		value := []byte(fmt.Sprintf("value-%d-%d", g, i))
		if err := c.Write(ctx, key, value); err != nil {
			return err
		}
		got, err := c.Read(ctx, key)
		if err != nil || string(got) != string(value) {
			return fmt.Errorf("goroutine %d read %q, %v after writing %q", g, got, err, value)
		}
		if err := increment(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func increment(ctx context.Context, c *Client) error {
	current, err := c.Read(ctx, []byte("counter"))
	for range 1000 {
		if err != nil {
			return err
		}
		var n int
		fmt.Sscan(string(current), &n)
		var swapped bool
		swapped, current, err = c.CompareAndSet(ctx, []byte("counter"), current, []byte(fmt.Sprint(n+1)))
		if err == nil && swapped {
			return nil
		}
	}
	return errors.New("increment: no cas succeeded in 1000 tries")
}

func TestErrors(t *testing.T) {
	cluster := servertest.StartSmall(t, 1, func(c *server.Config) { c.KeysMax = 3 })
	c := dial(t, cluster, Options{KeySizeMax: 8, ValueSizeMax: 16})
	ctx := timeout(t, 30*time.Second)

	var tooLarge *TooLargeError
	if err := c.Write(ctx, []byte("123456789"), nil); !errors.As(err, &tooLarge) || tooLarge.What != "key" ||
		!errors.Is(err, ErrTooLarge) {
		t.Errorf("9-byte key: %v", err)
	}
	if _, _, err := c.CompareAndSet(ctx, []byte("k"), nil, make([]byte, 17)); !errors.As(err, &tooLarge) ||
		tooLarge.What != "to" || tooLarge.Size != 17 || tooLarge.Max != 16 {
		t.Errorf("17-byte to: %v", err)
	}
	if _, err := c.Read(ctx, []byte("missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("read of a missing key: %v", err)
	}
	if _, _, err := c.CompareAndSet(ctx, []byte("missing"), nil, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("cas of a missing key: %v", err)
	}
	for i := range 3 {
		if err := c.Write(ctx, []byte{'k', byte('0' + i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, []byte("k3"), nil); !errors.Is(err, ErrFull) {
		t.Errorf("a fourth key in a 3-key store: %v", err)
	}
	if err := c.Write(ctx, []byte("k0"), []byte("again")); err != nil {
		t.Errorf("overwrite in a full store: %v", err)
	}
	c.Close()
	if err := c.Write(ctx, []byte("k0"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestDialUnreachable(t *testing.T) {
	addresses, err := servertest.FreeAddresses(3)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	_, err = Dial(timeout(t, 300*time.Millisecond), 1, addresses, Options{})
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial with nothing listening: %v", err)
	}
	if elapsed := time.Since(started); elapsed > 2*time.Second {
		t.Fatalf("dial gave up after %s, not at its 300 ms deadline", elapsed)
	}
	if _, err := Dial(context.Background(), 0, addresses, Options{}); err == nil {
		t.Fatal("dial of cluster 0 succeeded")
	}
	if _, err := Dial(context.Background(), 1, addresses, Options{SessionsMax: -1}); err == nil {
		t.Fatal("dial with negative sessions max succeeded")
	}
}

// A caller whose context ends before its request is sent fails outright;
// one whose request was sent fails as indefinite, and as unreachable too
// when no replica is up; its session serves again once the cluster
// answers.
func TestCancellation(t *testing.T) {
	cluster := servertest.StartSmall(t, 3, nil)
	c := dial(t, cluster, Options{SessionsMax: 1})
	ctx := timeout(t, 60*time.Second)
	if err := c.Write(ctx, []byte("k"), []byte("v0")); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Write(canceled, []byte("k"), []byte("never")); !errors.Is(err, context.Canceled) ||
		errors.Is(err, ErrIndefinite) {
		t.Fatalf("write with a canceled context: %v", err)
	}

	cluster.StopAll()
	err := c.Write(timeout(t, 500*time.Millisecond), []byte("k"), []byte("v1"))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrIndefinite) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("write to a stopped cluster: %v", err)
	}
	// The only session still carries v1: a second caller waits for it and
	// gives up without sending anything.
	err = c.Write(timeout(t, 200*time.Millisecond), []byte("k"), []byte("v2"))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrIndefinite) {
		t.Fatalf("write waiting for a session: %v", err)
	}
	for i := range 3 {
		if err := cluster.StartReplica(i); err != nil {
			t.Fatal(err)
		}
	}
	// v1 is still retried and lands; then the session serves again.
	got, err := c.Read(ctx, []byte("k"))
	if err != nil || string(got) != "v1" {
		t.Fatalf("read after restart: %q, %v; want v1 (the indefinite write, retried)", got, err)
	}
}

// More sessions than the cluster holds evict each other: a session the
// cluster evicted while idle registers again for its next call, unseen by
// the caller.
func TestEvictedWhileIdle(t *testing.T) {
	cluster := servertest.StartSmall(t, 1, func(c *server.Config) { c.ClientsMax = 2 })
	ctx := timeout(t, 30*time.Second)
	a := dial(t, cluster, Options{SessionsMax: 1})
	if err := a.Write(ctx, []byte("k"), []byte("a")); err != nil {
		t.Fatal(err)
	}
	dial(t, cluster, Options{SessionsMax: 1})
	dial(t, cluster, Options{SessionsMax: 1}) // the table holds two: a's session goes
	for registered := true; registered; time.Sleep(10 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatal("a's session never learned it was evicted")
		}
		a.mu.Lock()
		registered = a.all[0].protocol.Registered()
		a.mu.Unlock()
	}
	if err := a.Write(ctx, []byte("k"), []byte("a2")); err != nil {
		t.Fatalf("write after eviction: %v", err)
	}
	if got, err := a.Read(ctx, []byte("k")); err != nil || string(got) != "a2" {
		t.Fatalf("read %q, %v; want a2", got, err)
	}
}

// Each replica in turn, the primary among them, stops while callers keep
// writing, then starts again: no caller sees an error, and every write is
// read back.
func TestViewChangesAreHidden(t *testing.T) {
	cluster := servertest.StartSmall(t, 3, nil)
	c := dial(t, cluster, Options{SessionsMax: 4})
	ctx := timeout(t, 90*time.Second)
	const goroutines = 4
	for round := range 3 {
		cluster.StopReplica(round)
		err := inParallel(goroutines, func(g int) error {
			for i := range 10 {
				key, value := []byte(fmt.Sprintf("k%d", g)), []byte(fmt.Sprintf("%d-%d", round, i))
				if err := c.Write(ctx, key, value); err != nil {
					return fmt.Errorf("round %d: write %s=%s: %w", round, key, value, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := cluster.StartReplica(round); err != nil {
			t.Fatal(err)
		}
	}
	for g := range goroutines {
		if got, err := c.Read(ctx, []byte(fmt.Sprintf("k%d", g))); err != nil || string(got) != "2-9" {
			t.Fatalf("k%d = %q, %v; want 2-9", g, got, err)
		}
	}
}
