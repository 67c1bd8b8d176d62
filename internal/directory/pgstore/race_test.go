package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"p2p/internal/directory"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// servers opens n Stores on dsn, each with its own small pool: n servers
// sharing one database.
func servers(t *testing.T, dsn string, n int) []*Store {
	t.Helper()
	ss := make([]*Store, n)
	for i := range ss {
		ss[i] = openStore(t, dsn, Options{MaxConns: 2})
	}
	return ss
}

// TestRegisterRace: 8 servers register one name at the same moment:
// exactly one succeeds, round after round.
func TestRegisterRace(t *testing.T) {
	ss := servers(t, testenv.Postgres(t), 8)
	for round := range 25 {
		name := fmt.Sprintf("racer %d", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		won := make([]bool, len(ss))
		for i, s := range ss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				f, err := s.Register(bg, name)
				if err != nil {
					t.Errorf("register: %v", err)
				}
				won[i] = err == nil && !f.Registered
			}()
		}
		close(start)
		wg.Wait()
		n := 0
		for _, w := range won {
			if w {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d of %d racers registered %q", round, n, len(ss), name)
		}
	}
}

// TestConnectRace: 8 servers connect one user at the same moment: one
// succeeds, the others see it connected; same for publishing one file.
func TestConnectRace(t *testing.T) {
	ss := servers(t, testenv.Postgres(t), 8)
	for round := range 10 {
		u := fmt.Sprintf("u%d", round)
		if _, err := ss[0].Register(bg, u); err != nil {
			t.Fatal(err)
		}
		race := func(what string, op func(s *Store) (directory.Facts, error), lost func(directory.Facts) bool) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			start := make(chan struct{})
			for _, s := range ss {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					f, err := op(s)
					if err != nil {
						t.Errorf("%s: %v", what, err)
						return
					}
					if !lost(f) {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if wins != 1 {
				t.Fatalf("round %d: %d racers won %s", round, wins, what)
			}
		}
		race("connect", func(s *Store) (directory.Facts, error) { return s.Connect(bg, u, "1.1.1.1", "1") },
			func(f directory.Facts) bool { return f.Connected })
		race("publish", func(s *Store) (directory.Facts, error) { return s.Publish(bg, u, "f", "d", 0) },
			func(f directory.Facts) bool { return f.Listed })
		race("delete", func(s *Store) (directory.Facts, error) { return s.Delete(bg, u, "f") },
			func(f directory.Facts) bool { return !f.Listed })
		race("disconnect", func(s *Store) (directory.Facts, error) { return s.Disconnect(bg, u) },
			func(f directory.Facts) bool { return !f.Connected })
		race("unregister", func(s *Store) (directory.Facts, error) { return s.Unregister(bg, u) },
			func(f directory.Facts) bool { return !f.Registered })
	}
}

// TestPublishRaceOrder: one user's files published from several servers
// at once are all listed, each once, and a list seen by a reader is a
// prefix of every later one.
func TestPublishRaceOrder(t *testing.T) {
	ss := servers(t, testenv.Postgres(t), 4)
	ss[0].Register(bg, "u")
	ss[0].Connect(bg, "u", "1.1.1.1", "1")
	const per = 15
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range per {
				if f, err := s.Publish(bg, "u", fmt.Sprintf("f%d-%d", i, k), "", 0); err != nil || f.Listed {
					t.Errorf("publish: %+v %v", f, err)
				}
			}
		}()
	}
	seen := readUntil(&wg, func() []string {
		_, recs, err := ss[0].ListContent(bg, "u", "u")
		if err != nil {
			t.Error(err)
		}
		names := make([]string, len(recs))
		for i, r := range recs {
			names[i] = r.Filename
		}
		return names
	})
	checkPrefixes(t, seen, len(ss)*per)
}

// readUntil calls read in a loop until wg is done and once more after,
// and returns every answer.
func readUntil(wg *sync.WaitGroup, read func() []string) [][]string {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen [][]string
	for {
		select {
		case <-done:
			return append(seen, read())
		default:
			seen = append(seen, read())
		}
	}
}

// checkPrefixes checks that each list a reader saw is a prefix of the
// next one (the reader is sequential, and nothing was removed), and that
// the last holds want distinct names.
func checkPrefixes(t *testing.T, seen [][]string, want int) {
	t.Helper()
	for i := 1; i < len(seen); i++ {
		prev, cur := seen[i-1], seen[i]
		if len(cur) < len(prev) || strings.Join(cur[:len(prev)], "\x00") != strings.Join(prev, "\x00") {
			t.Fatalf("read %d saw %q, then read %d saw %q: an order seen changed", i-1, prev, i, cur)
		}
	}
	last := seen[len(seen)-1]
	distinct := map[string]bool{}
	for _, n := range last {
		distinct[n] = true
	}
	if len(last) != want || len(distinct) != want {
		t.Fatalf("last list has %d names (%d distinct), want %d", len(last), len(distinct), want)
	}
	t.Logf("%d reads, all prefixes of the next", len(seen))
}

// TestConnectOrderStable: users connecting at once through several
// servers; a reader's LIST_USERS answers never reorder what it has seen.
func TestConnectOrderStable(t *testing.T) {
	ss := servers(t, testenv.Postgres(t), 4)
	const users = 48
	ss[0].Register(bg, "reader")
	ss[0].Connect(bg, "reader", "1.1.1.1", "1")
	for i := range users {
		if _, err := ss[0].Register(bg, fmt.Sprint("u", i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := ss[w%len(ss)]
			for i := w; i < users; i += 8 {
				if f, err := s.Connect(bg, fmt.Sprint("u", i), "1.1.1.1", "2"); err != nil || f.Connected {
					t.Errorf("connect: %+v %v", f, err)
				}
			}
		}()
	}
	seen := readUntil(&wg, func() []string {
		_, recs, err := ss[1].ListUsers(bg, "reader")
		if err != nil {
			t.Error(err)
		}
		names := make([]string, len(recs))
		for i, r := range recs {
			names[i] = r.Username
		}
		return names
	})
	checkPrefixes(t, seen, users+1)
}

// TestConcurrentOpen: four servers starting at once on a new database
// make the schema once, without error.
func TestConcurrentOpen(t *testing.T) {
	dsn := testenv.Postgres(t)
	for round := range 2 { // a new database, then one with the schema
		var wg sync.WaitGroup
		errs := make([]error, 4)
		stores := make([]*Store, 4)
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = Open(bg, dsn, Options{MaxConns: 1})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, open %d: %v", round, i, err)
			}
			defer stores[i].Close()
		}
		u := fmt.Sprint("u", round)
		if f, err := stores[3].Register(bg, u); err != nil || f.Registered {
			t.Fatalf("register on the new schema: %+v %v", f, err)
		}
	}
}

// holder is a transaction held open by the test on its own connection.
type holder struct {
	t  *testing.T
	tx pgx.Tx
}

func hold(t *testing.T, s *Store, sqls ...string) *holder {
	t.Helper()
	tx, err := s.pool.Begin(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range sqls {
		if _, err := tx.Exec(bg, q); err != nil {
			tx.Rollback(bg)
			t.Fatalf("%s: %v", q, err)
		}
	}
	return &holder{t, tx}
}

// waitBlocked waits until some session of the database waits for a lock.
func waitBlocked(t *testing.T, s *Store) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, "a session waiting for a lock", func() bool {
		var n int
		if err := s.pool.QueryRow(bg, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// TestCheckOrderOneInstant: an operation that waits for a user's row while
// another transaction removes the user (or its connection) answers from
// the state after that commit, with the earlier column's code: the facts
// hold at one instant, not a mix of before and after.
func TestCheckOrderOneInstant(t *testing.T) {
	s := openStore(t, testenv.Postgres(t), Options{})
	d := directory.New(s, directory.Options{})
	cases := []struct {
		name string
		held []string // run in the held transaction, committed once op waits
		op   func() error
		want error
	}{
		{"disconnect while unregistered", []string{"SELECT p2p.unregister('u')"},
			func() error { return d.Disconnect(bg, "u") }, directory.ErrUserNotFound},
		{"publish while unregistered", []string{"SELECT p2p.unregister('u')"},
			func() error { return d.Publish(bg, "u", "new", "") }, directory.ErrUserNotFound},
		{"delete while unregistered", []string{"SELECT p2p.unregister('u')"},
			func() error { return d.Delete(bg, "u", "f") }, directory.ErrUserNotFound},
		{"connect while unregistered", []string{"SELECT p2p.unregister('u')", "SELECT p2p.register('u')"},
			func() error { return d.Connect(bg, "u", "1.1.1.1", "1") }, nil},
		{"publish while disconnected", []string{"SELECT p2p.disconnect('u')"},
			func() error { return d.Publish(bg, "u", "f", "") }, directory.ErrNotConnected},
		{"delete while disconnected", []string{"SELECT p2p.disconnect('u')"},
			func() error { return d.Delete(bg, "u", "f") }, directory.ErrNotConnected},
		{"connect while disconnected", []string{"SELECT p2p.disconnect('u')"},
			func() error { return d.Connect(bg, "u", "1.1.1.1", "1") }, nil},
		{"publish while deleted", []string{"SELECT p2p.delete('u', 'f')"},
			func() error { return d.Publish(bg, "u", "f", "") }, nil},
		{"delete while deleted", []string{"SELECT p2p.delete('u', 'f')"},
			func() error { return d.Delete(bg, "u", "f") }, directory.ErrNotPublished},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.Unregister(bg, "u")
			s.Register(bg, "u")
			s.Connect(bg, "u", "1.1.1.1", "1")
			s.Publish(bg, "u", "f", "", 0)
			h := hold(t, s, c.held...)
			got := make(chan error, 1)
			go func() { got <- c.op() }()
			waitBlocked(t, s)
			if err := h.tx.Commit(bg); err != nil {
				t.Fatal(err)
			}
			if err := <-got; err != c.want {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestSlowDatabase: a call that waits on a lock the database does not
// release returns an error at its context's deadline, and the store works
// once the lock is gone.
func TestSlowDatabase(t *testing.T) {
	s := openStore(t, testenv.Postgres(t), Options{})
	s.Register(bg, "a")
	s.Register(bg, "b")
	s.Connect(bg, "a", "1.1.1.1", "1")
	h := hold(t, s, "SELECT FROM p2p.conn_clock FOR UPDATE", "SELECT FROM p2p.users WHERE name = 'a' FOR UPDATE")
	for _, op := range []struct {
		name string
		f    func(ctx context.Context) error
	}{
		{"connect", func(ctx context.Context) error { _, err := s.Connect(ctx, "b", "1.1.1.1", "2"); return err }},
		{"publish", func(ctx context.Context) error { _, err := s.Publish(ctx, "a", "f", "", 0); return err }},
	} {
		ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
		start := time.Now()
		err := op.f(ctx)
		cancel()
		if took := time.Since(start); err == nil || took > time.Second {
			t.Errorf("%s against a held lock: %v after %v, want an error at 300ms", op.name, err, took)
		}
	}
	h.tx.Rollback(bg)
	// The abandoned calls may still have run once the locks went (their
	// outcome is unknown); what follows must not depend on them.
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if _, recs, err := s.ListUsers(ctx, "a"); err != nil || len(recs) == 0 {
		t.Fatalf("after the lock: %v %v", recs, err)
	}
	if _, err := s.Register(ctx, "c"); err != nil {
		t.Fatal(err)
	}
}

// keep the import of wire for helpers shared with other files.
var _ = wire.OK
