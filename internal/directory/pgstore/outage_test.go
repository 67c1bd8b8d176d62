package pgstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"p2p/internal/testenv"
)

// TestOutage kills the database (as a crash would) under load: every call
// returns an error within its deadline, never a hang; after a restart the
// calls succeed again by themselves, and everything acknowledged is there.
func TestOutage(t *testing.T) {
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{SyncCommit: true})
	dsn := pg.CreateDatabase(t)
	ss := servers(t, dsn, 2)

	const deadline = 500 * time.Millisecond
	const slack = 500 * time.Millisecond // scheduling on a loaded machine
	type ack struct{ registered, connected, published bool }
	var (
		mu     sync.Mutex
		acks   = map[string]*ack{}
		failed atomic.Int64 // calls that returned an error
		okays  atomic.Int64 // calls that succeeded
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	call := func(name string, f func(ctx context.Context) error) bool {
		ctx, cancel := context.WithTimeout(bg, deadline)
		defer cancel()
		start := time.Now()
		err := f(ctx)
		if took := time.Since(start); took > deadline+slack {
			t.Errorf("%s took %v (deadline %v)", name, took, deadline)
		}
		if err != nil {
			failed.Add(1)
			time.Sleep(5 * time.Millisecond) // no busy loop while it is down
			return false
		}
		okays.Add(1)
		return true
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := ss[w%len(ss)]
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				// A new name after any error: the outcome of a failed call
				// is unknown, so nothing later depends on it.
				u := fmt.Sprintf("w%d-%d", w, k)
				a := &ack{}
				mu.Lock()
				acks[u] = a
				mu.Unlock()
				ok := call("register", func(ctx context.Context) error {
					f, err := s.Register(ctx, u)
					if err == nil && f.Registered {
						t.Errorf("register %s: already registered", u)
					}
					return err
				})
				if !ok {
					continue
				}
				mu.Lock()
				a.registered = true
				mu.Unlock()
				if !call("connect", func(ctx context.Context) error { _, err := s.Connect(ctx, u, "1.1.1.1", "1"); return err }) {
					continue
				}
				mu.Lock()
				a.connected = true
				mu.Unlock()
				if !call("publish", func(ctx context.Context) error { _, err := s.Publish(ctx, u, "f", "d", 0); return err }) {
					continue
				}
				mu.Lock()
				a.published = true
				mu.Unlock()
				call("list", func(ctx context.Context) error { _, _, err := s.ListUsers(ctx, u); return err })
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // not polling: calls run before the kill
	pg.Kill()
	before := okays.Load()
	time.Sleep(1500 * time.Millisecond) // not polling: an outage long enough to see calls fail
	if failed.Load() == 0 {
		t.Error("no call failed while the database was down")
	}
	if n := okays.Load() - before; n > 8 {
		t.Errorf("%d calls succeeded with the database down", n) // only those in flight at the kill
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	restarted, restartedAt := okays.Load(), time.Now()
	if !testenv.Poll(20*time.Second, func() bool { return okays.Load() >= restarted+20 }) {
		t.Fatalf("the store did not recover: %d calls succeeded in 20s after the restart", okays.Load()-restarted)
	}
	t.Logf("20 calls succeeded %v after the restart", time.Since(restartedAt))
	close(stop)
	wg.Wait()
	t.Logf("%d calls succeeded, %d failed", okays.Load(), failed.Load())

	// Everything acknowledged is there (asked through another server).
	s := openStore(t, dsn, Options{})
	mu.Lock()
	defer mu.Unlock()
	if _, err := s.Register(bg, "probe"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connect(bg, "probe", "1.1.1.1", "1"); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for u, a := range acks {
		f, files, err := s.ListContent(bg, "probe", u)
		if err != nil {
			t.Fatal(err)
		}
		if a.registered && !f.RemoteRegistered || a.connected && !f.RemoteConnected ||
			a.published && (len(files) != 1 || files[0].Filename != "f") {
			t.Errorf("%s: acknowledged %+v, found %+v %v", u, *a, f, files)
			lost++
		}
	}
	t.Logf("%d users checked, %d lost something", len(acks), lost)
}

// TestLazyOpen: with Lazy, Open succeeds while the database is down, calls
// fail within their deadline, and the first call after it is back makes
// the schema and succeeds. Without Lazy, Open fails within its context.
func TestLazyOpen(t *testing.T) {
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{})
	dsn := pg.CreateDatabase(t)
	pg.Stop()

	ctx, cancel := context.WithTimeout(bg, 2*time.Second)
	start := time.Now()
	s, err := Open(ctx, dsn, Options{})
	cancel()
	if err == nil {
		s.Close()
		t.Fatal("Open without Lazy succeeded with the database down")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Open took %v", took)
	}

	ctx, cancel = context.WithTimeout(bg, 2*time.Second)
	s, err = Open(ctx, dsn, Options{Lazy: true})
	cancel()
	if err != nil {
		t.Fatalf("lazy Open: %v", err)
	}
	defer s.Close()
	for range 3 {
		ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
		start := time.Now()
		_, err := s.Register(ctx, "a")
		cancel()
		if err == nil || time.Since(start) > time.Second {
			t.Fatalf("register with the database down: %v after %v", err, time.Since(start))
		}
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Register(bg, "a"); err != nil || f.Registered {
		t.Fatalf("register after the start: %+v %v", f, err)
	}
	if f, err := s.Register(bg, "a"); err != nil || !f.Registered {
		t.Fatalf("register again: %+v %v", f, err)
	}
}
