package csvstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"p2p/internal/directory"
	"p2p/internal/logging"
	"p2p/internal/wire"
)

// Options configure a Store.
type Options struct {
	// Dir is the data folder holding users.csv, connected.csv and files/.
	// It is created when missing.
	Dir string
	// Sync makes every commit fsync the files it wrote and their folders
	// before the operations it carries return. Off, a crash of the machine
	// (not of the process) may lose acknowledged operations.
	Sync bool
	// Log gets the load report (damaged lines, file:line) and the storage
	// errors no request can carry. Nil: the lines go to os.Stderr, as a
	// report of repaired files must not be lost by default.
	Log *slog.Logger

	noIndex bool // SEARCH scans every list instead (benchmarks' baseline)
}

// File names of §4.
const (
	UsersFile     = "users.csv"
	ConnectedFile = "connected.csv"
	FilesDir      = "files"
)

// addr is a connected user's GET_FILE address.
type addr struct{ ip, port string }

// Store is the directory.Store over the CSV files of §4. The state lives in
// memory under one lock; each change also joins the pending batch, which a
// committer goroutine writes (appends where it can, one atomic rewrite per
// file for removals), syncs once, and then releases: concurrent changes
// share one sync (group commit).
//
// When a batch cannot be written, whatever failed and wherever, it is
// undone before any of its operations is answered: the memory is rolled
// back (with the changes queued behind it, which may depend on them),
// appends are truncated back, and files it renamed into place or removed
// are rewritten from the rolled-back memory; then its operations answer an
// error, and a restart shows none of them. The files it touched are
// rewritten whole with the next batch, so the store recovers as soon as
// the folder is writable again. When even the undo fails, the files are
// unclean: the batch's operations get no answer (directory.ErrOutcomeUnknown
// once their deadline passes; a restart may show them, as after a crash
// mid-write), no later operation is answered (changes and reads alike)
// until a write has rewritten the unclean files from memory, and the
// committer retries that every retryInterval.
type Store struct {
	dir, filesDir string
	sync          bool
	log           *slog.Logger
	lock          *os.File // holds the folder's flock until Close

	mu       sync.Mutex
	users    *omap[struct{}]
	conns    *omap[addr]
	files    map[string]*fileList // connected user -> filename -> description
	idx      *index               // SEARCH's words -> files (index.go)
	pending  *batch               // changes not yet handed to the committer
	inflight *batch               // the batch being written, nil when idle
	dirty    dirtySet             // files to rewrite whole (after a failure)
	unclean  dirtySet             // files that may hold a failed batch (its undo failed)
	stuck    []*batch             // failed batches waiting for unclean to be repaired
	fault    faultFunc            // test hook, see faultFunc
	closed   bool

	// Gathering (see gather): the committer waits on gathered until the
	// pending batch holds active changes, as many as the last batch and
	// the one queued behind it carried (only the committer changes active).
	gathered  chan struct{}
	active    int
	lastWrite time.Duration // how long the last batch took to write

	// connsSnap is the LIST_USERS answer while conns is at connsSnapVersion.
	connsSnap        []wire.UserRecord
	connsSnapVersion uint64

	stats Stats

	wake     chan struct{}
	stopped  chan struct{}
	closeErr error // set by the committer before stopped is closed
}

// Open loads the directory from opts.Dir (creating the folder and empty
// files when missing), reports every damaged line on opts.Log, repairs the
// files to hold what was loaded, and starts the committer.
func Open(opts Options) (*Store, error) {
	s := &Store{
		dir:      opts.Dir,
		filesDir: filepath.Join(opts.Dir, FilesDir),
		sync:     opts.Sync,
		log:      opts.Log,
		users:    newOmap[struct{}](),
		conns:    newOmap[addr](),
		files:    make(map[string]*fileList),
		idx:      newIndex(opts.noIndex),
		pending:  newBatch(),
		dirty:    newDirtySet(),
		unclean:  newDirtySet(),
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = logging.New(os.Stderr, "")
	}
	if s.dir == "" {
		s.dir = "."
		s.filesDir = FilesDir
	}
	// The folder must exist to be locked (load creates files/ in it).
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("directory: creating data folder: %w", err)
	}
	lock, err := lockDir(s.dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.load(); err != nil {
		s.unlock()
		return nil, err
	}
	// Write the repairs the load found necessary before serving anything.
	if s.dirty.any() {
		if err := s.commit(); err != nil {
			s.unlock()
			return nil, fmt.Errorf("directory: repairing %s: %w", s.dir, err)
		}
	}
	go s.commitLoop()
	return s, nil
}

// Close waits for the pending changes to be written and stops the
// committer. When the last write failed (its changes were refused, or
// their outcome is unknown when even the undo failed), Close returns that
// error. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.kick()
	<-s.stopped
	s.unlock()
	return s.closeErr
}

// unlock releases the data folder for another server.
func (s *Store) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// kick wakes the committer.
func (s *Store) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// changeLocked returns the pending batch for one more operation, whose undo is
// registered with it.
func (s *Store) changeLocked(undo func()) *batch {
	b := s.pending
	b.ops++
	b.undo = append(b.undo, undo)
	if s.gathered != nil && b.ops >= s.active {
		close(s.gathered)
		s.gathered = nil
	}
	return b
}

// barrier returns the batch an answer that reads the state must wait for:
// the newest one with changes not yet on disk, or nil. Called with s.mu
// held. Waiting for it means no answer reports a state a crash could undo.
// While some file is unclean, that is the next batch, which repairs it.
func (s *Store) barrier() *batch {
	if s.unclean.any() {
		s.pending.repair = true
	}
	if s.pending.ops > 0 || s.pending.repair {
		return s.pending
	}
	return s.inflight
}

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("csvstore: the store is closed")

// await waits for b and returns its error (nil when b is nil: nothing to
// wait for). A batch normally ends in a bounded time; one whose undo
// failed (stuck) ends only when the files are repaired, so then the wait
// ends at ctx's deadline too: with an error for a read (it changed
// nothing), with directory.ErrOutcomeUnknown for a change (its batch may
// still be on disk).
func (s *Store) await(ctx context.Context, b *batch, changed bool) error {
	if b == nil {
		return nil
	}
	s.kick()
	select {
	case <-b.done:
		return s.answerErr(b.err, changed)
	case <-b.stuck:
	}
	select {
	case <-b.done:
		return s.answerErr(b.err, changed)
	case <-ctx.Done():
	}
	if !changed {
		return fmt.Errorf("csvstore: %s holds a failed write not yet undone: %w", s.dir, ctx.Err())
	}
	return fmt.Errorf("%w: the write failed and could not be undone yet: %v", directory.ErrOutcomeUnknown, b.failErr)
}

// answerErr is err for a change; for a read, whose answer holds no change,
// an unknown outcome is a plain failure.
func (s *Store) answerErr(err error, changed bool) error {
	if !changed && errors.Is(err, directory.ErrOutcomeUnknown) {
		return fmt.Errorf("csvstore: %s holds a failed write not undone", s.dir)
	}
	return err
}

// do runs f under the lock and returns once the state f saw, or changed
// (then f has called s.change), is on disk.
func (s *Store) do(ctx context.Context, f func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	before := s.pending.ops
	f()
	changed := s.pending.ops > before
	b := s.barrier()
	s.mu.Unlock()
	return s.await(ctx, b, changed)
}

// Stats counts the store's commits since Open.
type Stats struct {
	Batches   int64         // batches written (or tried)
	Changes   int64         // changes they carried
	Failed    int64         // batches that could not be written
	WriteTime time.Duration // time spent writing and syncing them
}

// Stats returns the commit counters: Changes/Batches is how many changes
// one sync served on average.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
