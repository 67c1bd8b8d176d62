package csvstore

import (
	"fmt"
	"time"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// batch gathers the changes made since the last one was cut, and then the
// plan to write them. Its waiters block on done and read err.
type batch struct {
	ops  int
	undo []func() // in the order the changes were made

	usersAdd     []string
	usersRewrite bool
	connAdd      []wire.UserRecord
	connRewrite  bool
	files        map[string]*fileChange

	// The plan, filled by cut under the lock: whole contents to rewrite.
	usersAll []string
	connAll  []wire.UserRecord
	plans    []filePlan
	fault    faultFunc // the store's test hook when cut

	// repair asks for a commit even without changes: a read waits for the
	// files to hold no failed write (see Store.unclean).
	repair bool

	// done is closed when the waiters may read err. stuck is closed when
	// the batch failed and its undo failed too: done then waits until a
	// later write repairs the files (failErr is err then), and a waiter
	// whose deadline passes first cannot know the outcome.
	done    chan struct{}
	err     error
	stuck   chan struct{}
	failErr error
}

// fileChange is what a batch does to one files/<user>.csv: append records,
// or rewrite it whole (it was created, shrunk, or must be removed).
type fileChange struct {
	rewrite bool
	add     []wire.FileRecord
}

// filePlan is the write of one files/<user>.csv.
type filePlan struct {
	user    string
	remove  bool              // the user is no longer connected
	rewrite bool              // recs is the whole list, else the records to append
	recs    []wire.FileRecord // nil for remove
}

// dirtySet names the files that may not match the memory (a batch that
// touched them failed): the next batch rewrites them whole.
type dirtySet struct {
	users, conns bool
	files        map[string]bool
}

func (d dirtySet) any() bool { return d.users || d.conns || len(d.files) > 0 }

func newBatch() *batch {
	return &batch{files: make(map[string]*fileChange), done: make(chan struct{}), stuck: make(chan struct{})}
}

// add marks k.
func (d *dirtySet) add(k fileKey) {
	switch k.kind {
	case usersFile:
		d.users = true
	case connsFile:
		d.conns = true
	default:
		d.files[k.user] = true
	}
}

// keys lists the files marked.
func (d dirtySet) keys() []fileKey {
	var ks []fileKey
	if d.users {
		ks = append(ks, usersKey)
	}
	if d.conns {
		ks = append(ks, connsKey)
	}
	for u := range d.files {
		ks = append(ks, listKey(u))
	}
	return ks
}

func newDirtySet() dirtySet { return dirtySet{files: make(map[string]bool)} }

func (b *batch) fileChange(user string) *fileChange {
	fc := b.files[user]
	if fc == nil {
		fc = &fileChange{}
		b.files[user] = fc
	}
	return fc
}

func userRecord(u string, a addr) wire.UserRecord {
	return wire.UserRecord{Username: u, IP: a.ip, Port: a.port}
}

// retryInterval is how often a store whose last write failed tries again
// when no new change comes to carry the repair.
const retryInterval = 250 * time.Millisecond

// commitLoop writes batches one after the other until the store is closed
// and nothing is pending. While one batch is written, the next one fills
// up: that is the group commit. When it stops, the error of the last
// write, if that failed, is Close's (closeErr).
func (s *Store) commitLoop() {
	defer close(s.stopped)
	var last error // the last commit's
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		s.mu.Lock()
		ops, repair, dirty, closed, stuck := s.pending.ops, s.pending.repair, s.dirty.any(), s.closed, len(s.stuck)
		s.mu.Unlock()
		if ops > 0 || repair {
			s.gather()
			last = s.commit()
			continue
		}
		if closed {
			if stuck > 0 {
				last = s.commit() // one last repair
			}
			s.abandon()
			if last != nil {
				s.closeErr = fmt.Errorf("directory: the last write to %s failed: %w", s.dir, last)
			}
			return
		}
		if dirty {
			retry.Reset(retryInterval)
		}
		select {
		case <-s.wake:
		case <-retry.C:
			last = s.commit()
		}
	}
}

// How long the committer may wait for a batch to fill: twice the last
// write, within [minGather, maxGather].
const (
	minGather = 2 * time.Millisecond
	maxGather = 10 * time.Millisecond
)

// gather lets the pending batch fill before it is written, when syncing is
// on and changes come from several clients at once: waiting until as many
// changes are pending as the last two batches carried keeps concurrent
// clients from splitting into cohorts whose half-full syncs alternate, so
// one sync serves them all. The wait is bounded (see minGather), happens
// only when the target is not met, and a lone client (batches of one)
// never waits.
func (s *Store) gather() {
	s.mu.Lock()
	target := s.active
	if !s.sync || target <= 1 || s.pending.ops >= target || s.closed {
		s.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	s.gathered = ch // closed by change once target (s.active) changes are pending
	s.mu.Unlock()
	t := time.NewTimer(min(max(2*s.lastWrite, minGather), maxGather))
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	s.mu.Lock()
	s.gathered = nil
	s.mu.Unlock()
}

// commit cuts the pending batch, writes it, undoes it when it failed, and
// releases its waiters.
func (s *Store) commit() error {
	b := s.cut()
	t0 := time.Now()
	w, err := s.write(b)
	var undoErr error
	if err != nil {
		undoErr = s.undo(b, w)
	}
	w.cleanup()
	s.finish(b, w, err, undoErr, time.Since(t0))
	return err
}

// undo takes a failed batch b back off the disk, before any of its
// waiters is answered: it rolls the memory back (b's changes, and those
// queued behind b, which may depend on them and are refused at once: none
// reached the disk), truncates every file b appended to back to its size
// before, and rewrites from the rolled-back memory every file b renamed
// into place or removed, every append it could not truncate, and every
// file an earlier undo left unclean. Truncating needs no free space, so
// appends are undone even on a full disk; a file b did not touch keeps its
// bytes. The error says some file may still hold part of b (finish then
// marks it unclean).
func (s *Store) undo(b *batch, w *batchWriter) error {
	var redo []fileKey
	for i := len(w.appends) - 1; i >= 0; i-- {
		if err := w.truncate(w.appends[i]); err != nil {
			redo = append(redo, w.appends[i].key)
		}
	}
	for _, r := range w.renames[:w.renamed] {
		redo = append(redo, r.key)
	}
	redo = append(redo, w.removed...)

	s.mu.Lock()
	next := s.pending
	s.pending = newBatch()
	s.pending.repair = next.repair
	rollback(next)
	rollback(b)
	next.err = fmt.Errorf("an earlier batch failed: %w", w.err)
	close(next.done)
	redo = append(redo, s.unclean.keys()...)
	plan := s.restorePlanLocked(redo)
	s.mu.Unlock()
	return s.restore(plan, b.fault)
}

// restoreFile is one file to put back as the memory holds it.
type restoreFile struct {
	key    fileKey
	data   []byte
	remove bool // a list whose user is not connected
}

// restorePlanLocked builds the content of each file in keys from the memory.
func (s *Store) restorePlanLocked(keys []fileKey) []restoreFile {
	seen := make(map[fileKey]bool)
	var plan []restoreFile
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		p := restoreFile{key: k}
		switch k.kind {
		case usersFile:
			s.users.each(func(u string, _ struct{}) { p.data = appendRecord(p.data, u) })
		case connsFile:
			p.data = appendUsers(nil, s.connRecordsLocked())
		default:
			if list := s.files[k.user]; list != nil {
				p.data = appendFiles(nil, fileRecordsLocked(list))
			} else {
				p.remove = true
			}
		}
		plan = append(plan, p)
	}
	return plan
}

// restore writes plan as write does a batch: temporary files, one sync,
// renames, folder syncs.
func (s *Store) restore(plan []restoreFile, fault faultFunc) error {
	if len(plan) == 0 {
		return nil
	}
	w := newWriter(s.sync, fault)
	defer w.cleanup()
	for _, p := range plan {
		if !p.remove {
			w.replace(s.path(p.key), p.key, p.data)
		}
	}
	w.syncAll()
	w.renameAll()
	for _, p := range plan {
		if p.remove {
			w.remove(s.path(p.key), p.key)
		}
	}
	w.syncDirs()
	return w.err
}

// abandon answers the batches still stuck when the store closes: their
// undo never succeeded, so their outcome is unknown. Called by the
// committer when it stops.
func (s *Store) abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.stuck {
		b.err = fmt.Errorf("%w: the store closed with a failed write not undone (%v)", directory.ErrOutcomeUnknown, b.failErr)
		close(b.done)
	}
	s.stuck = nil
}

// cut takes the pending batch, adds the rewrites of dirty files, and takes
// the snapshots its rewrites need, all under the lock: the plan is exactly
// the state after the batch's changes.
func (s *Store) cut() *batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.pending
	s.pending = newBatch()
	b.usersRewrite = b.usersRewrite || s.dirty.users
	b.connRewrite = b.connRewrite || s.dirty.conns
	for u := range s.dirty.files {
		b.fileChange(u).rewrite = true
	}
	s.dirty = newDirtySet()
	b.fault = s.fault
	if b.usersRewrite {
		b.usersAll = make([]string, 0, s.users.len())
		s.users.each(func(u string, _ struct{}) { b.usersAll = append(b.usersAll, u) })
	}
	if b.connRewrite {
		b.connAll = s.connRecordsLocked() // read-only: written out, never changed
	}
	for u, fc := range b.files {
		p := filePlan{user: u}
		list := s.files[u]
		switch {
		case list == nil:
			p.remove = true
		case fc.rewrite:
			p.rewrite, p.recs = true, fileRecordsLocked(list)
		default:
			p.recs = fc.add
		}
		b.plans = append(b.plans, p)
	}
	s.inflight = b
	return b
}

// finish releases b's waiters. When b failed and undo put its files back
// byte for byte, only a file an append found missing is marked for a whole
// rewrite (which creates it): the others are as before, and appending to
// them stays possible (on a full disk, a rewrite would fail where a short
// append may still fit). When the undo failed too, every file b touched is
// unclean and marked for a rewrite: b's waiters wait (see await) until a
// later write, or a retry, rewrites them, and every read waits for that
// too. A success leaves nothing unclean: the batch carried every dirty
// file's rewrite.
func (s *Store) finish(b *batch, w *batchWriter, err, undoErr error, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = nil
	s.lastWrite = took
	s.stats.Batches++
	s.stats.Changes += int64(b.ops)
	s.stats.WriteTime += took
	s.active = b.ops + s.pending.ops
	if err == nil {
		s.unclean = newDirtySet()
		s.releaseLocked()
		close(b.done)
		return
	}
	s.stats.Failed++
	for _, k := range w.missing {
		s.dirty.add(k)
	}
	err = fmt.Errorf("cannot write to %s: %w", s.dir, err)
	if undoErr == nil {
		s.unclean = newDirtySet()
		s.releaseLocked()
		b.err = err
		close(b.done)
		return
	}
	s.log.Error(fmt.Sprintf("directory: %v; undoing it failed too: %v (no reply until the files are repaired)", err, undoErr))
	if b.usersRewrite || len(b.usersAdd) > 0 {
		s.unclean.users = true
	}
	if b.connRewrite || len(b.connAdd) > 0 {
		s.unclean.conns = true
	}
	for u := range b.files {
		s.unclean.files[u] = true
	}
	for _, k := range s.unclean.keys() {
		s.dirty.add(k)
	}
	b.failErr = err
	s.stuck = append(s.stuck, b)
	close(b.stuck)
}

// releaseLocked answers the stuck batches once nothing is unclean: their
// changes are off the disk now.
func (s *Store) releaseLocked() {
	for _, b := range s.stuck {
		b.err = b.failErr
		close(b.done)
	}
	s.stuck = nil
}

func rollback(b *batch) {
	for i := len(b.undo) - 1; i >= 0; i-- {
		b.undo[i]()
	}
}
