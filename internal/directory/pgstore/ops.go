package pgstore

import (
	"context"

	"p2p/internal/directory"
)

// The operations of directory.Store. A change is one call of its function
// of the schema (migrations), which returns the facts as bits; a list is
// one SELECT, whose first columns are the facts, read from the same
// snapshot as the rows (LIST_USERS' and LIST_CONTENT's are in lists.go,
// SEARCH's in search.go).

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
