package pgstore

import (
	"context"
	"sync"
	"unsafe"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// LIST_USERS and LIST_CONTENT, from shared snapshots.
//
// Decoding every row of a list for every request is most of a list's cost
// on the server, so the Store keeps the last list it decoded, with a
// version read from the same database snapshot as its rows. Each request
// is still one statement, from one snapshot: it reads the facts and the
// list's version, and the rows only when that version is not the cached
// one (a parameter). When it is, the answer is the cached slice: the same
// set of rows, and the order is their numbers', so the same list. A
// snapshot is never modified once built and is shared by every reader
// (directory.Store: lists must not be modified by callers), as the CSV
// store shares its own.
//
// Why the version is sound. LIST_USERS' version is (the largest
// connection number, the number of connections). Connection numbers come
// from p2p.conn_clock, whose row lock CONNECT holds until it commits: the
// CONNECT numbered n becomes visible before it releases that lock, so
// before n+1 can be numbered; a snapshot that sees connection m therefore
// sees every CONNECT numbered below m as committed (or rolled back, never
// seen by anyone). Numbers are never reused (a reconnect gets a new one),
// and a connection's row is never updated (its name, ip and port are fixed
// for its number): rows are only inserted by CONNECT and deleted by
// DISCONNECT and UNREGISTER. So for a snapshot whose largest number is m,
// the connections it holds are A(m) (every committed CONNECT numbered up
// to m, fixed once m is visible) minus the ones deleted in it, and of two
// snapshots the later one sees every deletion the earlier one saw. Two
// snapshots with the same m have the same A(m), one's deletions include
// the other's, and with the same count they are the same deletions: the
// same rows. LIST_CONTENT's version is (the remote's connection number,
// the largest file number of its list, the number of its files), by the
// same argument: a user's files are numbered under its users row lock,
// held to commit, from a counter in its connection's row (schema version
// 3), never reused within that connection, and file rows are never
// updated; a new connection gets a new number, which the version holds, and
// its counter starts again.

// fileClockSQL is schema version 3: the counter of each connection's file
// numbers, so that a number is never reused while the connection lasts
// (before, PUBLISH took one past the list's last, and after a DELETE of
// the last file the next one took its number again).
const fileClockSQL = `
ALTER TABLE p2p.conns ADD COLUMN files_last bigint NOT NULL DEFAULT 0;
UPDATE p2p.conns c SET files_last = m.last
FROM (SELECT owner, max(seq) AS last FROM p2p.files GROUP BY owner) m
WHERE m.owner = c.name;

CREATE OR REPLACE FUNCTION p2p.publish(u bytea, f bytea, d bytea, max_files bigint, w bytea[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	facts integer := 3;
	n bigint;
BEGIN
	IF NOT p2p.lock_user(u) THEN RETURN 0; END IF;
	PERFORM FROM p2p.conns WHERE name = u;
	IF NOT FOUND THEN RETURN 1; END IF;
	PERFORM FROM p2p.files WHERE owner = u AND filename = f;
	IF FOUND THEN facts := facts | 4; END IF;
	IF max_files > 0 AND (SELECT count(*) FROM
			(SELECT FROM p2p.files WHERE owner = u LIMIT max_files) l) >= max_files THEN
		facts := facts | 8;
	END IF;
	IF facts <> 3 THEN RETURN facts; END IF;
	-- Publishing order: numbered under the user's row, never reused
	-- within the connection (lists.go).
	UPDATE p2p.conns SET files_last = files_last + 1 WHERE name = u RETURNING files_last INTO n;
	INSERT INTO p2p.files (owner, seq, filename, description, words) VALUES (u, n, f, d, w);
	RETURN 3;
END $$;
`

// usersSnap is a decoded LIST_USERS answer and its version.
type usersSnap struct {
	top, n int64
	recs   []wire.UserRecord
}

// listUsersSQL answers the requester's facts, the list's version and,
// when the requester is registered and connected and the version is not
// ($2, $3), one row per connection in connection order (else one row of
// NULLs), from one snapshot.
const listUsersSQL = `
SELECT r.reg, r.conn, v.top, v.n, c.name, c.ip, c.port
FROM (SELECT EXISTS (SELECT FROM p2p.users WHERE name = $1) AS reg,
             EXISTS (SELECT FROM p2p.conns WHERE name = $1) AS conn) r
CROSS JOIN (SELECT coalesce(max(seq), 0) AS top, count(*) AS n FROM p2p.conns) v
LEFT JOIN p2p.conns c ON r.reg AND r.conn AND (v.top, v.n) IS DISTINCT FROM ($2::bigint, $3::bigint)
ORDER BY c.seq`

// ListUsers returns every connected user, in the order they connected.
// The slice is shared with other callers: it must not be modified.
func (s *Store) ListUsers(ctx context.Context, user string) (directory.Facts, []wire.UserRecord, error) {
	var f directory.Facts
	var snap *usersSnap
	err := s.run(ctx, func(ctx context.Context) error {
		f, snap = directory.Facts{}, nil
		old := s.users.Load()
		if old == nil {
			old = &usersSnap{top: -1, n: -1}
		}
		rows, err := s.pool.Query(ctx, listUsersSQL, []byte(user), old.top, old.n)
		if err != nil {
			return err
		}
		defer rows.Close()
		var top, n int64
		var name, ip, port []byte
		var recs []wire.UserRecord
		for rows.Next() {
			if err := rows.Scan(&f.Registered, &f.Connected, &top, &n, &name, &ip, &port); err != nil {
				return err
			}
			if name != nil {
				recs = append(recs, wire.UserRecord{Username: string(name), IP: string(ip), Port: string(port)})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !f.Registered || !f.Connected {
			return nil
		}
		if top == old.top && n == old.n {
			snap = old
			return nil
		}
		if recs == nil {
			recs = []wire.UserRecord{}
		}
		snap = &usersSnap{top: top, n: n, recs: recs[:len(recs):len(recs)]}
		s.users.Store(snap)
		return nil
	})
	if err != nil || snap == nil {
		return f, nil, err
	}
	return f, snap.recs, nil
}

// filesSnap is a decoded LIST_CONTENT answer and its version.
type filesSnap struct {
	conn, top, n int64
	recs         []wire.FileRecord
	size         int64 // bytes held, roughly
}

// The bounds of contentCache: lists of at most this many remotes, of at
// most this many bytes in all (a list larger than the bytes is not kept).
const (
	contentCacheLists = 4096
	contentCacheBytes = 32 << 20
)

// contentCache holds the last decoded list of each of a bounded number of
// remotes. When full, arbitrary entries make room (Go's map order): a
// list missing from it costs one decoding, as without the cache.
type contentCache struct {
	mu    sync.Mutex
	m     map[string]*filesSnap
	bytes int64
}

func (c *contentCache) get(remote string) *filesSnap {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[remote]
}

func (c *contentCache) put(remote string, snap *filesSnap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(remote)
	if snap.size > contentCacheBytes {
		return
	}
	if c.m == nil {
		c.m = make(map[string]*filesSnap)
	}
	for k := range c.m {
		if len(c.m) < contentCacheLists && c.bytes+snap.size <= contentCacheBytes {
			break
		}
		c.dropLocked(k)
	}
	c.m[remote] = snap
	c.bytes += snap.size
}

func (c *contentCache) drop(remote string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(remote)
}

func (c *contentCache) dropLocked(remote string) {
	if old := c.m[remote]; old != nil {
		c.bytes -= old.size
		delete(c.m, remote)
	}
}

// listContentSQL answers the facts of the requester ($1) and the remote
// user ($2) (the remote's connection number standing for whether it is
// connected), the list's version and, when all four facts hold and the
// version is not ($3, $4, $5), one row per file of the remote's list in
// publishing order (else one row of NULLs), from one snapshot.
const listContentSQL = `
SELECT r.reg, r.conn, r.rreg, r.rconn, v.top, v.n, f.filename, f.description
FROM (SELECT EXISTS (SELECT FROM p2p.users WHERE name = $1) AS reg,
             EXISTS (SELECT FROM p2p.conns WHERE name = $1) AS conn,
             EXISTS (SELECT FROM p2p.users WHERE name = $2) AS rreg,
             (SELECT seq FROM p2p.conns WHERE name = $2) AS rconn) r
CROSS JOIN (SELECT coalesce(max(seq), 0) AS top, count(*) AS n FROM p2p.files WHERE owner = $2) v
LEFT JOIN p2p.files f ON r.reg AND r.conn AND r.rreg AND r.rconn IS NOT NULL
	AND (r.rconn, v.top, v.n) IS DISTINCT FROM ($3::bigint, $4::bigint, $5::bigint)
	AND f.owner = $2
ORDER BY f.seq`

// ListContent returns remote's list, in publishing order. The slice is
// shared with other callers: it must not be modified.
func (s *Store) ListContent(ctx context.Context, user, remote string) (directory.Facts, []wire.FileRecord, error) {
	var f directory.Facts
	var snap *filesSnap
	err := s.run(ctx, func(ctx context.Context) error {
		f, snap = directory.Facts{}, nil
		old := s.content.get(remote)
		if old == nil {
			old = &filesSnap{conn: -1, top: -1, n: -1}
		}
		rows, err := s.pool.Query(ctx, listContentSQL, []byte(user), []byte(remote), old.conn, old.top, old.n)
		if err != nil {
			return err
		}
		defer rows.Close()
		var conn *int64
		var top, n int64
		var name, desc []byte
		var recs []wire.FileRecord
		var size int64
		for rows.Next() {
			if err := rows.Scan(&f.Registered, &f.Connected, &f.RemoteRegistered, &conn, &top, &n, &name, &desc); err != nil {
				return err
			}
			if name != nil {
				recs = append(recs, wire.FileRecord{Filename: string(name), Description: string(desc)})
				size += int64(len(name) + len(desc))
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		f.RemoteConnected = conn != nil
		if !f.RemoteConnected {
			if old.recs != nil {
				s.content.drop(remote)
			}
			return nil
		}
		if !f.Registered || !f.Connected {
			return nil
		}
		if *conn == old.conn && top == old.top && n == old.n {
			snap = old
			return nil
		}
		if recs == nil {
			recs = []wire.FileRecord{}
		}
		size += int64(len(recs)) * int64(unsafe.Sizeof(wire.FileRecord{}))
		snap = &filesSnap{conn: *conn, top: top, n: n, recs: recs[:len(recs):len(recs)], size: size}
		s.content.put(remote, snap)
		return nil
	})
	if err != nil || snap == nil {
		return f, nil, err
	}
	return f, snap.recs, nil
}
