package directory

import "p2p/internal/wire"

// The operations of §2. Each checks in the order of §2's columns, changes
// the memory, records the change (and its undo) in the pending batch, and
// returns once that batch is on disk.

// Register adds user to users.csv.
func (s *Store) Register(user string) wire.Outcome {
	if !SafeName(user) {
		return wire.Failed
	}
	return s.do(func() wire.Outcome {
		if s.users.has(user) {
			return wire.UserInUse
		}
		s.users.add(user, struct{}{})
		b := s.change(func() { s.users.remove(user) })
		b.usersAdd = append(b.usersAdd, user)
		return wire.OK
	})
}

// Unregister removes user, with its connection and published list.
func (s *Store) Unregister(user string) wire.Outcome {
	if !SafeName(user) {
		return wire.Failed
	}
	return s.do(func() wire.Outcome {
		nu := s.users.remove(user)
		if nu == nil {
			return wire.UserNotFound
		}
		nc := s.conns.remove(user)
		list := s.files[user]
		delete(s.files, user)
		b := s.change(func() {
			if nc != nil {
				s.files[user] = list
				s.conns.restore(nc)
			}
			s.users.restore(nu)
		})
		b.usersRewrite = true
		if nc != nil {
			b.connRewrite = true
			b.fileChange(user).rewrite = true
		}
		return wire.OK
	})
}

// Connect records user;ip;port in connected.csv and creates the user's
// empty files/<user>.csv.
func (s *Store) Connect(user, ip, port string) wire.Outcome {
	if !SafeName(user) || !validIP(ip) || !wire.ValidPort(port) {
		return wire.Failed
	}
	return s.do(func() wire.Outcome {
		switch {
		case !s.users.has(user):
			return wire.UserNotFound
		case s.conns.has(user):
			return wire.AlreadyConnected
		}
		s.conns.add(user, addr{ip, port})
		s.files[user] = newOmap[string]()
		b := s.change(func() {
			delete(s.files, user)
			s.conns.remove(user)
		})
		b.connAdd = append(b.connAdd, userRecord(user, addr{ip, port}))
		b.fileChange(user).rewrite = true
		return wire.OK
	})
}

// Disconnect removes user's connection record and published list.
func (s *Store) Disconnect(user string) wire.Outcome {
	if !SafeName(user) {
		return wire.Failed
	}
	return s.do(func() wire.Outcome {
		if o := s.connected(user); o != wire.OK {
			return o
		}
		nc := s.conns.remove(user)
		list := s.files[user]
		delete(s.files, user)
		b := s.change(func() {
			s.files[user] = list
			s.conns.restore(nc)
		})
		b.connRewrite = true
		b.fileChange(user).rewrite = true
		return wire.OK
	})
}

// Publish appends filename;description to files/<user>.csv.
func (s *Store) Publish(user, filename, description string) wire.Outcome {
	if !SafeName(user) || !validValue(filename) || !validValue(description) {
		return wire.Failed
	}
	return s.do(func() wire.Outcome {
		if o := s.connected(user); o != wire.OK {
			return o
		}
		list := s.files[user]
		if list.has(filename) {
			return wire.AlreadyPublished
		}
		list.add(filename, description)
		b := s.change(func() { list.remove(filename) })
		fc := b.fileChange(user)
		fc.add = append(fc.add, wire.FileRecord{Filename: filename, Description: description})
		return wire.OK
	})
}

// Delete removes filename from files/<user>.csv.
func (s *Store) Delete(user, filename string) wire.Outcome {
	if !SafeName(user) || !validValue(filename) {
		return wire.Failed
	}
	return s.do(func() wire.Outcome {
		if o := s.connected(user); o != wire.OK {
			return o
		}
		list := s.files[user]
		n := list.remove(filename)
		if n == nil {
			return wire.NotPublished
		}
		b := s.change(func() { list.restore(n) })
		b.fileChange(user).rewrite = true
		return wire.OK
	})
}

// ListUsers returns every connected user, in the order they connected.
// The slice is shared with other callers until the connections change: it
// must not be modified.
func (s *Store) ListUsers(user string) ([]wire.UserRecord, wire.Outcome) {
	if !SafeName(user) {
		return nil, wire.Failed
	}
	var recs []wire.UserRecord
	o := s.do(func() wire.Outcome {
		if o := s.connected(user); o != wire.OK {
			return o
		}
		recs = s.connRecords()
		return wire.OK
	})
	if o != wire.OK {
		return nil, o
	}
	return recs, o
}

// ListContent returns remote's published list, in publishing order.
func (s *Store) ListContent(user, remote string) ([]wire.FileRecord, wire.Outcome) {
	if !SafeName(user) {
		return nil, wire.Failed
	}
	var recs []wire.FileRecord
	o := s.do(func() wire.Outcome {
		if o := s.connected(user); o != wire.OK {
			return o
		}
		if !SafeName(remote) {
			return wire.Failed
		}
		if !s.users.has(remote) {
			return wire.RemoteNotFound
		}
		recs = fileRecords(s.files[remote])
		return wire.OK
	})
	if o != wire.OK {
		return nil, o
	}
	return recs, o
}

// connRecords returns the connected users, in the order they connected:
// one slice, shared by every caller until the connections change (it must
// not be modified). Called with s.mu held.
func (s *Store) connRecords() []wire.UserRecord {
	if s.connsSnap == nil || s.connsSnapVersion != s.conns.version {
		snap := make([]wire.UserRecord, 0, s.conns.len())
		s.conns.each(func(u string, a addr) { snap = append(snap, userRecord(u, a)) })
		s.connsSnap, s.connsSnapVersion = snap, s.conns.version
	}
	return s.connsSnap
}

// fileRecords copies a published list (nil: not connected, an empty
// list), in publishing order.
func fileRecords(list *omap[string]) []wire.FileRecord {
	if list == nil {
		return []wire.FileRecord{}
	}
	recs := make([]wire.FileRecord, 0, list.len())
	list.each(func(f, d string) { recs = append(recs, wire.FileRecord{Filename: f, Description: d}) })
	return recs
}

// connected checks the requester: registered, then connected.
func (s *Store) connected(user string) wire.Outcome {
	switch {
	case !s.users.has(user):
		return wire.UserNotFound
	case !s.conns.has(user):
		return wire.NotConnected
	}
	return wire.OK
}
