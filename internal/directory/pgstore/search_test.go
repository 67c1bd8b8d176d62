package pgstore

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"p2p/internal/directory"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// scanSearch is the reference answer of a SEARCH: every list of
// LIST_USERS, in order, filtered with directory.Holds.
func scanSearch(t *testing.T, s *Store, user string, words []string, limit int) []wire.SearchRecord {
	t.Helper()
	_, users, err := s.ListUsers(bg, user)
	if err != nil {
		t.Fatal(err)
	}
	recs := []wire.SearchRecord{}
	for _, u := range users {
		_, files, err := s.ListContent(bg, user, u.Username)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if len(recs) < limit && directory.Holds(words, f.Filename, f.Description) {
				recs = append(recs, wire.SearchRecord{Username: u.Username, Filename: f.Filename, Description: f.Description})
			}
		}
	}
	return recs
}

// TestSearchUpgrade: a database of schema version 1 with files already
// published (some deleted, an owner gone) is upgraded by Open: every row
// gets directory.Words of its filename and description, in several
// batches; SEARCH then finds them in §2's order; a server of version 1
// still running gets an error from PUBLISH rather than adding a file
// SEARCH would not find.
func TestSearchUpgrade(t *testing.T) {
	defer func(n int) { fillBatch = n }(fillBatch)
	fillBatch = 7 // several batches, the last one short
	dsn := testenv.Postgres(t)
	old, err := pgxpool.New(bg, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := migrateTo(bg, old, 1); err != nil {
		t.Fatal(err)
	}
	call := func(want int32, sql string, args ...any) {
		t.Helper()
		var got int32
		if err := old.QueryRow(bg, sql, args...).Scan(&got); err != nil || got != want {
			t.Fatalf("%s %q: %d %v, want %d", sql, args, got, err, want)
		}
	}
	users := []string{"zoe", "Ana", "\xff\x01bob", "gone"}
	for i, u := range users {
		call(0, "SELECT p2p.register($1)", []byte(u))
		call(1, "SELECT p2p.connect($1, $2, $3)", []byte(u), []byte("10.0.0.1"), []byte(fmt.Sprint(i)))
	}
	descs := []string{"a Song I like", "ROCK; live", "ñandú canción", "\xfe\xfd raw", "", "song.MP3"}
	n := 0
	for k := range 12 {
		for _, u := range users {
			f := fmt.Sprintf("Track%02d %s.mp3", k, u)
			call(3, "SELECT p2p.publish($1, $2, $3, 0)", []byte(u), []byte(f), []byte(descs[(k+n)%len(descs)]))
			n++
		}
	}
	call(7, "SELECT p2p.delete($1, $2)", []byte("Ana"), []byte("Track03 Ana.mp3"))
	call(3, "SELECT p2p.disconnect($1)", []byte("gone"))

	s := openStore(t, dsn, Options{}) // upgrades
	var v int
	if err := s.pool.QueryRow(bg, "SELECT version FROM p2p.schema_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("version after upgrade: %d %v, want %d", v, err, SchemaVersion)
	}
	rows, err := s.pool.Query(bg, "SELECT filename, description, words FROM p2p.files")
	if err != nil {
		t.Fatal(err)
	}
	var count int
	for rows.Next() {
		var f, d []byte
		var w [][]byte
		if err := rows.Scan(&f, &d, &w); err != nil {
			t.Fatal(err)
		}
		if want := wordsOf(string(f), string(d)); !slices.EqualFunc(w, want, slices.Equal) {
			t.Errorf("%q %q: words %q, want %q", f, d, w, want)
		}
		count++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := 12*3 - 1; count != want {
		t.Fatalf("%d files after the upgrade, want %d", count, want)
	}
	for _, q := range []string{"mp3", "song", "SONG mp3", "track03", "rock live", "ñandú", "\xfe\xfd", "zoe", "ana", "gone", "\xff", "bob"} {
		words := directory.Words(q)
		f, got, err := s.Search(bg, "zoe", words, directory.MaxSearchResults)
		if err != nil || !f.Registered || !f.Connected {
			t.Fatalf("SEARCH %q: %+v %v", q, f, err)
		}
		if want := scanSearch(t, s, "zoe", words, directory.MaxSearchResults); !slices.Equal(got, want) {
			t.Errorf("SEARCH %q after the upgrade:\n got %q\nwant %q", q, got, want)
		}
	}
	if _, got, _ := s.Search(bg, "zoe", []string{"mp3"}, 1000); len(got) != 12*3-1 || got[0].Username != "zoe" || got[len(got)-1].Username != "\xff\x01bob" {
		t.Errorf("SEARCH mp3: %d records, %q .. %q", len(got), got[0], got[len(got)-1])
	}
	// PUBLISH after the upgrade is found; the old four-argument call fails.
	d := directory.New(s, directory.Options{})
	if err := d.Publish(bg, "Ana", "new ONE", "fresh"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Search(bg, "Ana", "one FRESH"); err != nil || len(got) != 1 || got[0].Filename != "new ONE" {
		t.Fatalf("SEARCH of a file published after the upgrade: %q %v", got, err)
	}
	var bits int32
	if err := old.QueryRow(bg, "SELECT p2p.publish($1, $2, $3, 0)", []byte("Ana"), []byte("x"), []byte("")).Scan(&bits); err == nil ||
		!strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("PUBLISH of a version-1 server after the upgrade: %d %v", bits, err)
	}
}

// TestSearchPlan: with 20,000 files published (200 owners of 100 files;
// words from unique to common), the search statement reads the files
// through the GIN index files_words, never by a Seq Scan of the files
// table, for a custom plan and for the generic one prepared statements
// may switch to; a requester who may not search reads no file at all.
// With P2P_PG_MEASURE=1 it prints the plans and timings.
func TestSearchPlan(t *testing.T) {
	const owners, each = 200, 100
	s := openStore(t, testenv.Postgres(t), Options{})
	for i := range owners {
		u := fmt.Sprintf("user%03d", i)
		if _, err := s.Register(bg, u); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Connect(bg, u, "10.0.0.1", "1"); err != nil {
			t.Fatal(err)
		}
	}
	// Loaded by COPY, with the words PUBLISH would give them.
	var rows [][]any
	for i := range owners {
		for k := range each {
			n := i*each + k
			f := fmt.Sprintf("Track %05d genre%02d.mp3", n, n%50)
			d := fmt.Sprintf("album%03d by Artist%03d", n%400, i)
			if i >= owners*7/10 {
				d += " late" // 30% of the files, all of the last owners
			}
			rows = append(rows, []any{[]byte(fmt.Sprintf("user%03d", i)), int64(k + 1), []byte(f), []byte(d), wordsOf(f, d)})
		}
	}
	if _, err := s.pool.CopyFrom(bg, pgx.Identifier{"p2p", "files"},
		[]string{"owner", "seq", "filename", "description", "words"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(bg, "ANALYZE p2p.files"); err != nil {
		t.Fatal(err)
	}
	measure := os.Getenv("P2P_PG_MEASURE") != ""
	explain := func(prefix string, args ...any) string {
		t.Helper()
		rows, err := s.pool.Query(bg, prefix+searchSQL, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	checkPlan := func(what, plan string) {
		t.Helper()
		if !strings.Contains(plan, "files_words") || strings.Contains(plan, "Seq Scan on files") {
			t.Errorf("%s: the plan does not read files through files_words:\n%s", what, plan)
		}
	}
	// Words held by one file to 30% of them (the last owners' files);
	// then one every file holds, which PostgreSQL reads by a Seq Scan.
	queries := []string{"track 12345", "genre07", "genre07 album123", "artist042 mp3", "nothing", "late", "late mp3", "mp3"}
	for _, q := range queries {
		words := byteas(directory.Words(q))
		plan := explain("EXPLAIN ", []byte("user000"), words, int64(directory.MaxSearchResults))
		if q != "mp3" {
			checkPlan("EXPLAIN "+q, plan)
		}
		if measure {
			t.Logf("%s", explain("EXPLAIN (ANALYZE, BUFFERS) ", []byte("user000"), words, int64(directory.MaxSearchResults)))
		}
		_, got, err := s.Search(bg, "user000", directory.Words(q), directory.MaxSearchResults)
		if err != nil {
			t.Fatal(err)
		}
		if want := scanSearch(t, s, "user000", directory.Words(q), directory.MaxSearchResults); !slices.Equal(got, want) {
			t.Errorf("SEARCH %q: %d records, want %d", q, len(got), len(want))
		}
	}
	// A requester who may not search: the files are never read.
	plan := explain("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ", []byte("nobody"), byteas([]string{"mp3"}), int64(1000))
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "files_words") && !strings.Contains(line, "never executed") {
			t.Errorf("an unknown requester reads the index:\n%s", plan)
		}
	}
	// The generic plan, which a prepared statement switches to after
	// five runs: through files_words for any words, even those every
	// file holds.
	conn, err := s.pool.Acquire(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(bg, "SET plan_cache_mode = force_generic_plan; PREPARE generic_search(bytea, bytea[], bigint) AS "+searchSQL); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(bg, "DEALLOCATE generic_search; RESET plan_cache_mode")
	for _, q := range queries {
		var lit []string // the words as a bytea[] literal
		for _, w := range directory.Words(q) {
			lit = append(lit, fmt.Sprintf(`"\\\\x%x"`, w))
		}
		rs, err := conn.Query(bg, fmt.Sprintf(`EXPLAIN EXECUTE generic_search('\x%x', '{%s}', 1000)`, "user000", strings.Join(lit, ",")))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rs, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		checkPlan("generic plan, "+q, strings.Join(lines, "\n"))
		if measure && q == "mp3" {
			t.Logf("generic plan:\n%s", strings.Join(lines, "\n"))
		}
	}
	if measure {
		for _, q := range queries {
			words := byteas(directory.Words(q))
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement} {
				const n = 200
				start := time.Now()
				var got int
				for range n {
					rows, err := s.pool.Query(bg, searchSQL, mode, []byte("user000"), words, int64(directory.MaxSearchResults))
					if err != nil {
						t.Fatal(err)
					}
					recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int, error) { return 0, nil })
					if err != nil {
						t.Fatal(err)
					}
					got = len(recs)
				}
				t.Logf("SEARCH %-20q %4d records, %v: %v each", q, got, mode, time.Since(start)/n)
			}
		}
	}
}
