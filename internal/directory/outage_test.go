package directory_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/logging"
	"p2p/internal/testenv"
)

// flakyStore fails every Register while down is set.
type flakyStore struct {
	directory.Store // the other methods are not called
	down            atomic.Bool
}

func (s *flakyStore) Register(context.Context, string) (directory.Facts, error) {
	if s.down.Load() {
		return directory.Facts{}, errors.New("database down")
	}
	return directory.Facts{}, nil
}

// TestOutageReportedOnce: one warning when the store starts failing, and
// one note when it works again, however many requests failed; a success
// right after a failure (a request in flight when the database died)
// does not end the outage, a success once the failures have stopped does.
func TestOutageReportedOnce(t *testing.T) {
	var out testenv.Buffer
	st := &flakyStore{}
	d := directory.New(st, directory.Options{Log: logging.New(&out, "server")})
	ctx := context.Background()
	notes := func() int { return strings.Count(out.String(), "directory: the store works again\n") }
	for round := 1; round <= 2; round++ {
		st.down.Store(true)
		for range 3 {
			if err := d.Register(ctx, "alice"); err == nil {
				t.Fatal("register with the store down: no error")
			}
		}
		st.down.Store(false)
		if err := d.Register(ctx, "alice"); err != nil {
			t.Fatalf("register with the store back: %v", err)
		}
		// A failure right after: the same outage, not a second one.
		st.down.Store(true)
		d.Register(ctx, "alice")
		st.down.Store(false)
		// Requests that succeed end it, once the failures have stopped.
		testenv.Eventually(t, 5*time.Second, "the note that the store works again", func() bool {
			if err := d.Register(ctx, "alice"); err != nil {
				t.Fatalf("register with the store back: %v", err)
			}
			return notes() == round
		})
		if n := strings.Count(out.String(), "database down (requests get their last code"); n != round {
			t.Fatalf("round %d: %d warnings, want %d:\n%s", round, n, round, out.String())
		}
	}
	if n := notes(); n != 2 {
		t.Fatalf("%d notes, want 2:\n%s", n, out.String())
	}
}
