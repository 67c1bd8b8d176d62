package pgstore

import (
	"context"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// The operations of directory.Store. A change is one call of its function
// of the schema (migrations), which returns the facts as bits; a list is
// one SELECT, whose first columns are the facts, read from the same
// snapshot as the rows (SEARCH's is in search.go).

var _ directory.Store = (*Store)(nil)

// The bits the schema's functions return.
const (
	bitRegistered = 1 << iota
	bitConnected
	bitListed
	bitFull
)

func factsOf(bits int32) directory.Facts {
	return directory.Facts{
		Registered: bits&bitRegistered != 0,
		Connected:  bits&bitConnected != 0,
		Listed:     bits&bitListed != 0,
		Full:       bits&bitFull != 0,
	}
}

// change calls one of the schema's functions and returns its facts.
func (s *Store) change(ctx context.Context, sql string, args ...any) (directory.Facts, error) {
	var bits int32
	err := s.run(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, sql, args...).Scan(&bits)
	})
	if err != nil {
		return directory.Facts{}, err
	}
	return factsOf(bits), nil
}

// Register adds user.
func (s *Store) Register(ctx context.Context, user string) (directory.Facts, error) {
	return s.change(ctx, "SELECT p2p.register($1)", []byte(user))
}

// Unregister removes user, with its connection and published list.
func (s *Store) Unregister(ctx context.Context, user string) (directory.Facts, error) {
	return s.change(ctx, "SELECT p2p.unregister($1)", []byte(user))
}

// Connect records user's GET_FILE address as the newest connection.
func (s *Store) Connect(ctx context.Context, user, ip, port string) (directory.Facts, error) {
	return s.change(ctx, "SELECT p2p.connect($1, $2, $3)", []byte(user), []byte(ip), []byte(port))
}

// Disconnect removes user's connection and published list.
func (s *Store) Disconnect(ctx context.Context, user string) (directory.Facts, error) {
	return s.change(ctx, "SELECT p2p.disconnect($1)", []byte(user))
}

// Publish appends (filename, description) to user's list, with its words
// for SEARCH, unless the list holds maxFiles files already (maxFiles <= 0:
// no cap).
func (s *Store) Publish(ctx context.Context, user, filename, description string, maxFiles int) (directory.Facts, error) {
	return s.change(ctx, "SELECT p2p.publish($1, $2, $3, $4, $5)",
		[]byte(user), []byte(filename), []byte(description), int64(maxFiles), wordsOf(filename, description))
}

// Delete removes filename from user's list.
func (s *Store) Delete(ctx context.Context, user, filename string) (directory.Facts, error) {
	return s.change(ctx, "SELECT p2p.delete($1, $2)", []byte(user), []byte(filename))
}

// listUsersSQL answers the requester's facts and, when it is registered
// and connected, one row per connection in connection order (else one row
// of NULLs), from one snapshot.
const listUsersSQL = `
SELECT r.reg, r.conn, c.name, c.ip, c.port
FROM (SELECT EXISTS (SELECT FROM p2p.users WHERE name = $1) AS reg,
             EXISTS (SELECT FROM p2p.conns WHERE name = $1) AS conn) r
LEFT JOIN p2p.conns c ON r.reg AND r.conn
ORDER BY c.seq`

// ListUsers returns every connected user, in the order they connected.
func (s *Store) ListUsers(ctx context.Context, user string) (directory.Facts, []wire.UserRecord, error) {
	var f directory.Facts
	var recs []wire.UserRecord
	err := s.run(ctx, func(ctx context.Context) error {
		f, recs = directory.Facts{}, nil
		rows, err := s.pool.Query(ctx, listUsersSQL, []byte(user))
		if err != nil {
			return err
		}
		defer rows.Close()
		var name, ip, port []byte
		for rows.Next() {
			if err := rows.Scan(&f.Registered, &f.Connected, &name, &ip, &port); err != nil {
				return err
			}
			if name != nil {
				recs = append(recs, wire.UserRecord{Username: string(name), IP: string(ip), Port: string(port)})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return directory.Facts{}, nil, err
	}
	if f.Registered && f.Connected && recs == nil {
		recs = []wire.UserRecord{}
	}
	return f, recs, nil
}

// listContentSQL answers the facts of the requester ($1) and the remote
// user ($2) and, when all four hold, one row per file of the remote's
// list in publishing order (else one row of NULLs), from one snapshot.
const listContentSQL = `
SELECT r.reg, r.conn, r.rreg, r.rconn, f.filename, f.description
FROM (SELECT EXISTS (SELECT FROM p2p.users WHERE name = $1) AS reg,
             EXISTS (SELECT FROM p2p.conns WHERE name = $1) AS conn,
             EXISTS (SELECT FROM p2p.users WHERE name = $2) AS rreg,
             EXISTS (SELECT FROM p2p.conns WHERE name = $2) AS rconn) r
LEFT JOIN p2p.files f ON r.reg AND r.conn AND r.rreg AND r.rconn AND f.owner = $2
ORDER BY f.seq`

// ListContent returns remote's list, in publishing order.
func (s *Store) ListContent(ctx context.Context, user, remote string) (directory.Facts, []wire.FileRecord, error) {
	var f directory.Facts
	var recs []wire.FileRecord
	err := s.run(ctx, func(ctx context.Context) error {
		f, recs = directory.Facts{}, nil
		rows, err := s.pool.Query(ctx, listContentSQL, []byte(user), []byte(remote))
		if err != nil {
			return err
		}
		defer rows.Close()
		var name, desc []byte
		for rows.Next() {
			if err := rows.Scan(&f.Registered, &f.Connected, &f.RemoteRegistered, &f.RemoteConnected, &name, &desc); err != nil {
				return err
			}
			if name != nil {
				recs = append(recs, wire.FileRecord{Filename: string(name), Description: string(desc)})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return directory.Facts{}, nil, err
	}
	if f.Registered && f.Connected && f.RemoteConnected && recs == nil {
		recs = []wire.FileRecord{}
	}
	return f, recs, nil
}
