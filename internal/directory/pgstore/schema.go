package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaLockKey is the advisory lock every server takes, in the one
// transaction that creates or upgrades the schema, so that servers
// starting at once on one database do it one after the other (CREATE ...
// IF NOT EXISTS alone is not safe then). Any constant will do, as long as
// it never changes; PostgreSQL 15 has no 0x literals, hence decimal.
const schemaLockKey int64 = 7_364_212_005_118_401_031

// migration is one step of the schema: its SQL, then, when the step must
// compute something in Go (the word rule, directory.Words, lives only
// there), its code, in the same transaction.
type migration struct {
	sql  string
	code func(ctx context.Context, tx pgx.Tx) error
}

// migrations[i] takes the schema from version i to version i+1. The
// schema's version is the row of p2p.schema_version. Append, never edit:
// a server runs the migrations the database has not seen yet, and refuses
// a database newer than it knows.
//
// Lock order, everywhere: the user's row of p2p.users, then p2p.conn_clock
// (CONNECT only), then the rows of p2p.conns and p2p.files. Every change
// to a user's connection or list is made under its users row, locked FOR
// NO KEY UPDATE (DELETE takes it FOR UPDATE): so once that lock is held,
// a fresh statement sees the user's connection and list as they stay
// until commit, and the facts of §2 hold at one instant.
var migrations = []migration{
	// 1: users, connections in connection order, lists in publishing
	// order; names are bytea (any bytes but NUL, kept exactly).
	{sql: `
CREATE TABLE p2p.users (
	name bytea PRIMARY KEY
);

-- One row: the last connection number handed out. CONNECT takes it under
-- a row lock held to commit, so connection numbers grow in commit order
-- and an order a reader has seen never changes (a sequence would not:
-- two CONNECTs can commit in the other order of their numbers).
CREATE TABLE p2p.conn_clock (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	last bigint NOT NULL
);
INSERT INTO p2p.conn_clock VALUES (true, 0);

CREATE TABLE p2p.conns (
	name bytea PRIMARY KEY REFERENCES p2p.users ON DELETE CASCADE,
	seq bigint NOT NULL UNIQUE,
	ip bytea NOT NULL,
	port bytea NOT NULL
);

CREATE TABLE p2p.files (
	owner bytea NOT NULL REFERENCES p2p.conns ON DELETE CASCADE,
	seq bigint NOT NULL,
	filename bytea NOT NULL,
	description bytea NOT NULL,
	PRIMARY KEY (owner, filename),
	UNIQUE (owner, seq)
);

-- The functions return the facts of directory.Facts as bits:
-- 1 registered, 2 connected, 4 listed, 8 full. Each is one transaction
-- (the caller's implicit one); each statement takes a fresh snapshot.

-- lock_user locks u's row against every other change of u, and reports
-- whether u is registered. A locking statement that waited for the row
-- and then found it deleted reports nothing, even when u was registered
-- again meanwhile (its snapshot is older): so a plain look from a fresh
-- snapshot decides whether u is gone, or to lock again.
CREATE FUNCTION p2p.lock_user(u bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	LOOP
		PERFORM FROM p2p.users WHERE name = u FOR NO KEY UPDATE;
		IF FOUND THEN RETURN true; END IF;
		PERFORM FROM p2p.users WHERE name = u;
		IF NOT FOUND THEN RETURN false; END IF;
	END LOOP;
END $$;

CREATE FUNCTION p2p.register(u bytea) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO p2p.users (name) VALUES (u) ON CONFLICT DO NOTHING;
	IF FOUND THEN RETURN 0; END IF;
	RETURN 1;
END $$;

CREATE FUNCTION p2p.unregister(u bytea) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
	LOOP
		-- Cascades to the connection, then to the list.
		DELETE FROM p2p.users WHERE name = u;
		IF FOUND THEN RETURN 1; END IF;
		PERFORM FROM p2p.users WHERE name = u; -- as in lock_user
		IF NOT FOUND THEN RETURN 0; END IF;
	END LOOP;
END $$;

CREATE FUNCTION p2p.connect(u bytea, u_ip bytea, u_port bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	IF NOT p2p.lock_user(u) THEN RETURN 0; END IF;
	PERFORM FROM p2p.conns WHERE name = u;
	IF FOUND THEN RETURN 3; END IF;
	UPDATE p2p.conn_clock SET last = last + 1 RETURNING last INTO n;
	INSERT INTO p2p.conns (name, seq, ip, port) VALUES (u, n, u_ip, u_port);
	RETURN 1;
END $$;

CREATE FUNCTION p2p.disconnect(u bytea) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT p2p.lock_user(u) THEN RETURN 0; END IF;
	-- Cascades to the list.
	DELETE FROM p2p.conns WHERE name = u;
	IF FOUND THEN RETURN 3; END IF;
	RETURN 1;
END $$;

CREATE FUNCTION p2p.publish(u bytea, f bytea, d bytea, max_files bigint) RETURNS integer
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
	-- Publishing order: the user's list changes only under its users row,
	-- so the next number is one past the list's last.
	SELECT coalesce(max(seq), 0) + 1 INTO n FROM p2p.files WHERE owner = u;
	INSERT INTO p2p.files (owner, seq, filename, description) VALUES (u, n, f, d);
	RETURN 3;
END $$;

CREATE FUNCTION p2p.delete(u bytea, f bytea) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT p2p.lock_user(u) THEN RETURN 0; END IF;
	PERFORM FROM p2p.conns WHERE name = u;
	IF NOT FOUND THEN RETURN 1; END IF;
	DELETE FROM p2p.files WHERE owner = u AND filename = f;
	IF FOUND THEN RETURN 7; END IF;
	RETURN 3;
END $$;
`},
	// 2: the SEARCH index (PROTOCOL.md §2, "SEARCH (extension)").
	{sql: searchIndexSQL, code: fillWords},
	// 3: file numbers never reused within a connection, for the list
	// snapshots (lists.go).
	{sql: fileClockSQL},
}

// SchemaVersion is the version of the schema this package creates.
var SchemaVersion = len(migrations)

// ErrSchemaNewer is returned by Open for a database whose schema was made
// by a newer server than this one.
var ErrSchemaNewer = errors.New("pgstore: the database's schema is newer than this server knows")

// migrate creates or upgrades the schema in one transaction, under the
// advisory lock, so that servers starting at once do it in turn.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return migrateTo(ctx, pool, len(migrations))
}

// migrateTo takes the schema up to version target (tests build older
// versions with it, to upgrade them), never down.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, target int) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", schemaLockKey); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS p2p;
CREATE TABLE IF NOT EXISTS p2p.schema_version (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	version integer NOT NULL
)`); err != nil {
		return err
	}
	var v int
	switch err := tx.QueryRow(ctx, "SELECT version FROM p2p.schema_version").Scan(&v); {
	case errors.Is(err, pgx.ErrNoRows):
		v = 0
	case err != nil:
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (version %d, this server knows up to %d)", ErrSchemaNewer, v, len(migrations))
	}
	if v >= target {
		return tx.Commit(ctx)
	}
	for i := v; i < target; i++ {
		m := migrations[i]
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("schema version %d: %w", i+1, err)
		}
		if m.code != nil {
			if err := m.code(ctx, tx); err != nil {
				return fmt.Errorf("schema version %d: %w", i+1, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO p2p.schema_version (version) VALUES ($1)
ON CONFLICT (one) DO UPDATE SET version = excluded.version`, target); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
