// Package pgstore is the directory.Store kept in PostgreSQL, so that
// several central servers (behind a TCP load balancer) share one directory
// and together behave as one server (PROTOCOL.md §4, "Beyond one machine").
//
// The state is four tables in the schema p2p (users, conns, files and the
// one-row conn_clock), created or upgraded by Open under an advisory lock,
// so that servers may start at once. Names are bytea: any bytes but NUL
// come back exactly as they were sent. Each file row also holds its words
// for SEARCH, under a GIN index (search.go).
//
// Each operation is one PostgreSQL transaction, in one round trip once its
// statement is prepared on the pool connection: a PL/pgSQL function for
// the changes, one SELECT for the lists. Transactions run at READ
// COMMITTED and take explicit row locks in one fixed order (the user's
// row, then the connection clock, then connections and files): a change
// locks the row that decides its first fact (the user's), then reads the
// other facts in fresh statements, so the check order of §2 holds at one
// instant; a list is read by one statement, from one snapshot. The
// connection order of LIST_USERS is a number handed out under the clock
// row's lock, held to commit: numbers grow in commit order, so an order a
// reader has seen never changes, at the price of CONNECTs queueing on that
// row (one commit each; see docs/postgres.md for the measured cost).
// Publishing order is numbered under the user's row, from a counter in its
// connection's row. The lists are answered from shared snapshots, each
// with a version read with the facts (lists.go).
//
// Failures. An error means the operation's change did not happen, except
// in one case: when the connection to the database is lost after the
// request was sent (during the function or its COMMIT), the outcome is
// unknown: the change may have been committed. The error is returned all
// the same (the request gets its last code); a client that retries sees
// the committed outcome (USERNAME IN USE, for one). Only what is certain
// not to have run is retried (pgconn.SafeToRetry), and transactions that
// PostgreSQL rolled back for a serialization failure or a deadlock
// (SQLSTATE 40001, 40P01), a bounded number of times. With the database
// down or slow, every call returns an error within its context's deadline,
// and the pool reconnects by itself when the database is back. The store
// prints nothing: directory.Directory reports outages.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// MaxConns is the size of the connection pool (default: the
	// connection string's pool_max_conns, else DefaultMaxConns). Each
	// server holds up to this many PostgreSQL sessions: servers × MaxConns
	// must stay under the database's max_connections. Requests beyond it
	// wait for a connection, within their deadline.
	MaxConns int32
	// ConnectTimeout bounds one attempt to open a connection, when the
	// connection string sets none (connect_timeout); default
	// DefaultConnectTimeout. Every call is also bounded by its context.
	ConnectTimeout time.Duration
	// StatementTimeout is the statement_timeout of the store's sessions
	// (default DefaultStatementTimeout; negative: the database's own). It
	// is a safety net on the database's side: a call gives up at its
	// context's deadline in any case, but its statement could otherwise
	// run on in the database, holding its locks.
	StatementTimeout time.Duration
	// Lazy makes Open succeed when the database cannot be reached: the
	// calls fail until it can, and the first that reaches it creates or
	// upgrades the schema. Errors the database reports (authentication,
	// a missing database, a newer schema) still fail Open.
	Lazy bool
}

// Defaults of Options.
const (
	DefaultMaxConns         = 8
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = 30 * time.Second
)

// maxAttempts bounds the tries of one call (the retries of what is safe
// to retry).
const maxAttempts = 3

// ErrDSN is returned by Open for a connection string that does not parse.
var ErrDSN = errors.New("pgstore: bad connection string")

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("pgstore: the store is closed")

// Store is the directory.Store in PostgreSQL. Its methods are safe for
// concurrent use, and any number of Stores (in any number of processes)
// may share one database.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
	ready  atomic.Bool   // the schema is known to be current
	schema chan struct{} // one slot: one schema attempt at a time
	// schemaErr is the error of the last schema attempt, until one
	// succeeds; written with the slot of schema held.
	schemaErr atomic.Pointer[error]

	// The last decoded LIST_USERS and LIST_CONTENT answers, with their
	// versions (lists.go).
	users   atomic.Pointer[usersSnap]
	content contentCache
}

// Open connects to the database dsn names (a URL or key=value string, as
// pgx and libpq accept) and creates or upgrades the schema, within ctx.
// With opts.Lazy, a database that cannot be reached does not fail Open
// (see Options.Lazy).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDSN, err)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MinConns = 0
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
		if opts.ConnectTimeout <= 0 {
			cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		}
	}
	rp := cfg.ConnConfig.RuntimeParams
	if _, ok := rp["statement_timeout"]; !ok && opts.StatementTimeout >= 0 {
		d := opts.StatementTimeout
		if d == 0 {
			d = DefaultStatementTimeout
		}
		rp["statement_timeout"] = fmt.Sprint(d.Milliseconds())
	}
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "p2p-server"
	}
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{pool: pool, schema: make(chan struct{}, 1)}
	if err := s.ensureSchema(ctx); err != nil {
		if opts.Lazy && transient(err) {
			return s, nil
		}
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, once the calls in flight have returned their
// connections. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.pool.Close()
	}
	return nil
}

// ensureSchema creates or upgrades the schema unless that has been done.
func (s *Store) ensureSchema(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	select {
	case s.schema <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("pgstore: schema: %w", ctx.Err())
	}
	defer func() { <-s.schema }()
	if s.ready.Load() {
		return nil
	}
	if err := migrate(ctx, s.pool); err != nil {
		if !errors.Is(err, ErrSchemaNewer) {
			err = fmt.Errorf("pgstore: schema: %w", err)
		}
		s.schemaErr.Store(&err)
		return err
	}
	s.ready.Store(true)
	s.schemaErr.Store(nil)
	return nil
}

// SchemaErr returns why the store could not make or check the schema yet
// (the error of the last attempt: with Options.Lazy, Open may return a
// Store whose database was unreachable), or nil once it has.
func (s *Store) SchemaErr() error {
	if p := s.schemaErr.Load(); p != nil && !s.ready.Load() {
		return *p
	}
	return nil
}

// transient reports whether err may go away by itself (the database is
// unreachable, starting or shutting down, out of connections) rather than
// being a refusal that needs a person (authentication, no such database,
// permissions, a newer schema).
func transient(err error) bool {
	if errors.Is(err, ErrSchemaNewer) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) >= 2 {
		switch pe.Code[:2] {
		case "08", "53", "57", "58": // connection, resources, operator intervention, system
			return true
		}
		return false
	}
	return true
}

// retryable reports whether a failed call may be tried again: nothing of
// it reached the database, or the database rolled it back.
func retryable(err error) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// run calls f, the one transaction of an operation, retrying it while
// that is safe, a bounded number of times, within ctx.
func (s *Store) run(ctx context.Context, f func(context.Context) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.ensureSchema(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if s.closed.Load() {
			return ErrClosed
		}
		if attempt == maxAttempts || ctx.Err() != nil || !retryable(err) {
			return fmt.Errorf("pgstore: %w", err)
		}
		if !pgconn.SafeToRetry(err) {
			// Rolled back in a conflict: let the other side go first.
			time.Sleep(time.Duration(rand.IntN(5_000*attempt)) * time.Microsecond)
		}
	}
}
