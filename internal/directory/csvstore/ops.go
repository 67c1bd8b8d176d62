package csvstore

import (
	"context"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// The operations of directory.Store. Each reads the facts under the lock,
// and when the precondition holds changes the memory, records the change
// (and its undo) in the pending batch; it returns once that batch is on
// disk. The context is checked before the change only: once a change has
// joined a batch it is answered when the batch is written (a bounded
// wait), never abandoned, since it might still reach the disk.

var _ directory.Store = (*Store)(nil)

// factsLocked reads the requester's facts.
func (s *Store) factsLocked(user string) directory.Facts {
	return directory.Facts{Registered: s.users.has(user), Connected: s.conns.has(user)}
}

// Register adds user to users.csv.
func (s *Store) Register(ctx context.Context, user string) (f directory.Facts, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); f.Registered {
			return
		}
		s.users.add(user, struct{}{})
		b := s.changeLocked(func() { s.users.remove(user) })
		b.usersAdd = append(b.usersAdd, user)
	})
	return f, err
}

// Unregister removes user, with its connection and published list.
func (s *Store) Unregister(ctx context.Context, user string) (f directory.Facts, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); !f.Registered {
			return
		}
		nu := s.users.remove(user)
		nc := s.conns.remove(user)
		list := s.files[user]
		delete(s.files, user)
		var unindex func()
		if nc != nil {
			unindex = s.idx.dropOwner(user, list)
		}
		b := s.changeLocked(func() {
			if nc != nil {
				s.files[user] = list
				s.conns.restore(nc)
				unindex()
			}
			s.users.restore(nu)
		})
		b.usersRewrite = true
		if nc != nil {
			b.connRewrite = true
			b.fileChange(user).rewrite = true
		}
	})
	return f, err
}

// Connect records user;ip;port in connected.csv and creates the user's
// empty files/<user>.csv.
func (s *Store) Connect(ctx context.Context, user, ip, port string) (f directory.Facts, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); !f.Registered || f.Connected {
			return
		}
		s.conns.add(user, addr{ip, port})
		list := newFileList()
		s.files[user] = list
		s.idx.addOwner(user)
		b := s.changeLocked(func() {
			s.idx.dropOwner(user, list) // empty again: the later changes are undone
			delete(s.files, user)
			s.conns.remove(user)
		})
		b.connAdd = append(b.connAdd, userRecord(user, addr{ip, port}))
		b.fileChange(user).rewrite = true
	})
	return f, err
}

// Disconnect removes user's connection record and published list.
func (s *Store) Disconnect(ctx context.Context, user string) (f directory.Facts, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); !f.Registered || !f.Connected {
			return
		}
		nc := s.conns.remove(user)
		list := s.files[user]
		delete(s.files, user)
		unindex := s.idx.dropOwner(user, list)
		b := s.changeLocked(func() {
			s.files[user] = list
			s.conns.restore(nc)
			unindex()
		})
		b.connRewrite = true
		b.fileChange(user).rewrite = true
	})
	return f, err
}

// Publish appends filename;description to files/<user>.csv.
func (s *Store) Publish(ctx context.Context, user, filename, description string, maxFiles int) (f directory.Facts, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); !f.Registered || !f.Connected {
			return
		}
		list := s.files[user]
		f.Listed = list.has(filename)
		f.Full = maxFiles > 0 && list.len() >= maxFiles
		if f.Listed || f.Full {
			return
		}
		n := list.add(filename, description)
		s.idx.addFile(user, n)
		b := s.changeLocked(func() {
			s.idx.removeFile(user, n)
			list.remove(filename)
		})
		fc := b.fileChange(user)
		fc.add = append(fc.add, wire.FileRecord{Filename: filename, Description: description})
	})
	return f, err
}

// Delete removes filename from files/<user>.csv.
func (s *Store) Delete(ctx context.Context, user, filename string) (f directory.Facts, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); !f.Registered || !f.Connected {
			return
		}
		list := s.files[user]
		n := list.remove(filename)
		if f.Listed = n != nil; !f.Listed {
			return
		}
		k := s.idx.removeFile(user, n)
		b := s.changeLocked(func() {
			list.restore(n)
			s.idx.putFile(n, k)
		})
		b.fileChange(user).rewrite = true
	})
	return f, err
}

// ListUsers returns every connected user, in the order they connected.
// The slice is shared with other callers until the connections change: it
// must not be modified.
func (s *Store) ListUsers(ctx context.Context, user string) (f directory.Facts, recs []wire.UserRecord, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); f.Registered && f.Connected {
			recs = s.connRecordsLocked()
		}
	})
	if err != nil {
		return f, nil, err
	}
	return f, recs, nil
}

// ListContent returns remote's published list, in publishing order. The
// slice is shared with other callers until the list changes: it must not
// be modified.
func (s *Store) ListContent(ctx context.Context, user, remote string) (f directory.Facts, recs []wire.FileRecord, err error) {
	err = s.do(ctx, func() {
		f = s.factsLocked(user)
		f.RemoteRegistered = s.users.has(remote)
		f.RemoteConnected = s.conns.has(remote)
		if f.Registered && f.Connected && f.RemoteConnected {
			recs = fileRecordsLocked(s.files[remote])
		}
	})
	if err != nil {
		return f, nil, err
	}
	return f, recs, nil
}

// Search returns the files of connected users holding every one of
// words, in §2's order, at most limit: from the index, or, without one,
// by reading every list.
func (s *Store) Search(ctx context.Context, user string, words []string, limit int) (f directory.Facts, recs []wire.SearchRecord, err error) {
	err = s.do(ctx, func() {
		if f = s.factsLocked(user); !f.Registered || !f.Connected {
			return
		}
		if s.idx.off {
			recs = s.scanLocked(words, limit)
		} else {
			recs = s.idx.search(words, limit)
		}
	})
	if err != nil {
		return f, nil, err
	}
	return f, recs, nil
}

// scanLocked answers a SEARCH by reading every published list: what the
// index saves (the benchmarks' baseline, and the tests' reference).
func (s *Store) scanLocked(words []string, limit int) []wire.SearchRecord {
	var recs []wire.SearchRecord
	s.conns.each(func(u string, _ addr) {
		s.files[u].each(func(f, d string) {
			if len(recs) < limit && directory.Holds(words, f, d) {
				recs = append(recs, wire.SearchRecord{Username: u, Filename: f, Description: d})
			}
		})
	})
	return recs
}

// connRecordsLocked returns the connected users, in the order they connected:
// one slice, shared by every caller until the connections change (it must
// not be modified).
func (s *Store) connRecordsLocked() []wire.UserRecord {
	if s.connsSnap == nil || s.connsSnapVersion != s.conns.version {
		snap := make([]wire.UserRecord, 0, s.conns.len())
		s.conns.each(func(u string, a addr) { snap = append(snap, userRecord(u, a)) })
		s.connsSnap, s.connsSnapVersion = snap, s.conns.version
	}
	return s.connsSnap
}

// fileList is one user's published list, with the records of its last
// snapshot: every LIST_CONTENT and rewrite of an unchanged list shares one
// slice, instead of a copy each (a list of 20,000 long names is 10 MB on
// the wire; 100 readers must not make 100 copies).
type fileList struct {
	*omap[string]
	snap        []wire.FileRecord
	snapVersion uint64
}

func newFileList() *fileList { return &fileList{omap: newOmap[string]()} }

// fileRecordsLocked returns a published list (nil: not connected, an empty
// list), in publishing order: one slice, shared by every caller until the
// list changes (it must not be modified).
func fileRecordsLocked(list *fileList) []wire.FileRecord {
	if list == nil {
		return []wire.FileRecord{}
	}
	if list.snap == nil || list.snapVersion != list.version {
		snap := make([]wire.FileRecord, 0, list.len())
		list.each(func(f, d string) { snap = append(snap, wire.FileRecord{Filename: f, Description: d}) })
		list.snap, list.snapVersion = snap, list.version
	}
	return list.snap
}
