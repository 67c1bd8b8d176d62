package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// SEARCH (PROTOCOL.md §2, "SEARCH (extension)"). Each file row carries its
// words (p2p.files.words, bytea[]): directory.Words of its filename and
// description, folded and deduplicated, computed in Go by PUBLISH (and by
// the upgrade that added the column, for the rows already there), so the
// word rule lives in one place. A GIN index on that column answers
// "holds every query word" as words @> query; files of an owner go with
// its connection (DISCONNECT and UNREGISTER cascade to them), and DELETE
// removes the row, so the index never needs separate upkeep.

// searchIndexSQL is schema version 2: the words column, PUBLISH filling
// it, and (in fillWords, once the rows there have their words) the index.
const searchIndexSQL = `
ALTER TABLE p2p.files ADD COLUMN words bytea[];

-- A server of version 1 still running calls the four-argument publish:
-- it fails clearly (its PUBLISH gets the last code) rather than adding a
-- file SEARCH would never find.
CREATE OR REPLACE FUNCTION p2p.publish(u bytea, f bytea, d bytea, max_files bigint) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'p2p: the schema is at version 2 or later; this server is older: upgrade it';
END $$;

-- w: directory.Words(f, d), computed by the caller.
CREATE FUNCTION p2p.publish(u bytea, f bytea, d bytea, max_files bigint, w bytea[]) RETURNS integer
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
	SELECT coalesce(max(seq), 0) + 1 INTO n FROM p2p.files WHERE owner = u;
	INSERT INTO p2p.files (owner, seq, filename, description, words) VALUES (u, n, f, d, w);
	RETURN 3;
END $$;
`

// searchIndexDoneSQL ends schema version 2, once every row has its words.
// fastupdate off: each PUBLISH writes its words into the index itself, so
// a SEARCH never reads a pending list of recent insertions linearly.
const searchIndexDoneSQL = `
ALTER TABLE p2p.files ALTER COLUMN words SET NOT NULL;
CREATE INDEX files_words ON p2p.files USING gin (words) WITH (fastupdate = off);
ANALYZE p2p.files;
`

// fillBatch is the number of rows fillWords reads at a time (a variable
// for the tests).
var fillBatch = 10_000

// fillWords gives the rows already published their words, in batches in
// (owner, seq) order (the unique index), through a temporary table, then
// makes the column required and indexes it. It runs in the upgrade's
// transaction: the ALTER TABLE holds the files table until commit, so no
// row is published meanwhile.
func fillWords(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE p2p_fill_words (
	owner bytea, seq bigint, words bytea[]
) ON COMMIT DROP`); err != nil {
		return err
	}
	var owner []byte
	var seq int64
	first := true
	for {
		var rows pgx.Rows
		var err error
		if first {
			rows, err = tx.Query(ctx, `SELECT owner, seq, filename, description FROM p2p.files
ORDER BY owner, seq LIMIT $1`, fillBatch)
		} else {
			rows, err = tx.Query(ctx, `SELECT owner, seq, filename, description FROM p2p.files
WHERE (owner, seq) > ($1, $2) ORDER BY owner, seq LIMIT $3`, owner, seq, fillBatch)
		}
		if err != nil {
			return err
		}
		var batch [][]any
		for rows.Next() {
			var o, f, d []byte
			var n int64
			if err := rows.Scan(&o, &n, &f, &d); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, []any{o, n, wordsOf(string(f), string(d))})
			owner, seq = o, n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		first = false
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"p2p_fill_words"},
			[]string{"owner", "seq", "words"}, pgx.CopyFromRows(batch)); err != nil {
			return err
		}
		if len(batch) < fillBatch {
			break
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE p2p.files f SET words = w.words
FROM p2p_fill_words w WHERE f.owner = w.owner AND f.seq = w.seq`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, searchIndexDoneSQL)
	return err
}

// wordsOf is the words column of a file: directory.Words of its filename
// and description, as bytea.
func wordsOf(filename, description string) [][]byte {
	return byteas(directory.Words(filename, description))
}

func byteas(words []string) [][]byte {
	b := make([][]byte, len(words))
	for i, w := range words {
		b[i] = []byte(w)
	}
	return b
}

// searchSQL answers the requester's facts ($1) and, when it is registered
// and connected, the files holding every word of $2, in connection order
// of their owners then publishing order, at most $3 (else one row of
// NULLs), from one snapshot.
//
// The matches are found through the GIN index files_words, then sorted:
// the cost follows the number of matches, never the number of files.
// The sort keys are written c.seq + 0, f.seq + 0 so that no btree gives
// that order: else, for a word many files hold, PostgreSQL walks the
// owners in connection order and each one's files in publishing order
// (conns_seq_key, files_owner_seq_key), filtering, until the LIMIT: fast
// when the matches are spread, but a walk of most files when they are
// not (a frequent word held only by the last owners). PostgreSQL still reads the table whole when
// it expects nearly every file to match: there, the matches are the
// table.
//
// Plans. The statement is prepared (pgx's statement cache), so after
// five runs on a pool connection PostgreSQL uses a generic plan, which
// knows no word's frequency: it reads the matches through files_words,
// joins the owners (a hash of the connections, or their primary key) and
// sorts, for any words (checked by TestSearchPlan). The first five are
// custom plans: the same, except for a word nearly every file holds,
// which PostgreSQL then reads by a Seq Scan of the files, the matches
// being the table. The generic plan is no slower than planning each
// query's words.
const searchSQL = `
SELECT r.reg, r.conn, m.owner, m.filename, m.description
FROM (SELECT EXISTS (SELECT FROM p2p.users WHERE name = $1) AS reg,
             EXISTS (SELECT FROM p2p.conns WHERE name = $1) AS conn) r
LEFT JOIN LATERAL (
	SELECT f.owner, f.filename, f.description, c.seq AS cseq, f.seq AS fseq
	FROM p2p.files f JOIN p2p.conns c ON c.name = f.owner
	WHERE r.reg AND r.conn AND f.words @> $2::bytea[]
	ORDER BY c.seq + 0, f.seq + 0
	LIMIT $3) m ON true
ORDER BY m.cseq, m.fseq`

// Search returns the files of connected users holding every one of words,
// in §2's order, at most limit of them.
func (s *Store) Search(ctx context.Context, user string, words []string, limit int) (directory.Facts, []wire.SearchRecord, error) {
	var f directory.Facts
	var recs []wire.SearchRecord
	q := byteas(words)
	err := s.run(ctx, func(ctx context.Context) error {
		f, recs = directory.Facts{}, nil
		rows, err := s.pool.Query(ctx, searchSQL, []byte(user), q, int64(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		var owner, name, desc []byte
		for rows.Next() {
			if err := rows.Scan(&f.Registered, &f.Connected, &owner, &name, &desc); err != nil {
				return err
			}
			if owner != nil {
				recs = append(recs, wire.SearchRecord{Username: string(owner), Filename: string(name), Description: string(desc)})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return directory.Facts{}, nil, err
	}
	if f.Registered && f.Connected && recs == nil {
		recs = []wire.SearchRecord{}
	}
	return f, recs, nil
}
