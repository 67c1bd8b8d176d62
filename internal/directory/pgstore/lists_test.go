package pgstore

import (
	"reflect"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// TestListSnapshots: a server's cached lists follow every kind of change,
// made by another server on the same database, including the ones that
// leave a list's length and last number as they were; and while a list
// does not change, its readers share one slice.
func TestListSnapshots(t *testing.T) {
	dsn := testenv.Postgres(t)
	reader, other := newTestDir(t, dsn, 0), newTestDir(t, dsn, 0)
	for _, u := range []string{"me", "r", "s"} {
		expect(t, "register "+u, other.register(u), wire.OK)
	}
	expect(t, "connect me", reader.connect("me", "1.1.1.1", "1"), wire.OK)

	users := func(want ...string) {
		t.Helper()
		recs, o := reader.listUsers("me")
		expect(t, "list users", o, wire.OK)
		got := []string{}
		for _, r := range recs {
			got = append(got, r.Username+"@"+r.IP+":"+r.Port)
		}
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("users: %q, want %q", got, want)
		}
	}
	files := func(want ...string) {
		t.Helper()
		recs, o := reader.listContent("me", "r")
		expect(t, "list content", o, wire.OK)
		got := []string{}
		for _, r := range recs {
			got = append(got, r.Filename+"="+r.Description)
		}
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("files: %q, want %q", got, want)
		}
	}

	users("me@1.1.1.1:1")
	expect(t, "connect r", other.connect("r", "2.2.2.2", "2"), wire.OK)
	users("me@1.1.1.1:1", "r@2.2.2.2:2")
	files()
	expect(t, "publish", other.publish("r", "a", "1"), wire.OK)
	files("a=1")
	expect(t, "publish", other.publish("r", "b", "2"), wire.OK)
	files("a=1", "b=2")
	// DELETE of the last file, then PUBLISH: the same length, and a new
	// number (one past the last would be the deleted one's), unseen in
	// between.
	expect(t, "delete", other.delete("r", "b"), wire.OK)
	expect(t, "publish", other.publish("r", "c", "3"), wire.OK)
	files("a=1", "c=3")
	expect(t, "delete", other.delete("r", "a"), wire.OK)
	files("c=3")
	// Reconnect with a list of the same length and numbers.
	expect(t, "disconnect r", other.disconnect("r"), wire.OK)
	users("me@1.1.1.1:1")
	files() // offline: an empty list
	expect(t, "connect r", other.connect("r", "3.3.3.3", "3"), wire.OK)
	users("me@1.1.1.1:1", "r@3.3.3.3:3")
	files()
	expect(t, "publish", other.publish("r", "d", "4"), wire.OK)
	files("d=4")
	expect(t, "disconnect r", other.disconnect("r"), wire.OK)
	expect(t, "connect r", other.connect("r", "4.4.4.4", "4"), wire.OK)
	expect(t, "publish", other.publish("r", "e", "5"), wire.OK)
	files("e=5")
	// A connection leaves that is not the last one, and another comes.
	expect(t, "connect s", other.connect("s", "5.5.5.5", "5"), wire.OK)
	users("me@1.1.1.1:1", "r@4.4.4.4:4", "s@5.5.5.5:5")
	expect(t, "disconnect r", other.disconnect("r"), wire.OK)
	users("me@1.1.1.1:1", "s@5.5.5.5:5")
	expect(t, "connect r", other.connect("r", "6.6.6.6", "6"), wire.OK)
	users("me@1.1.1.1:1", "s@5.5.5.5:5", "r@6.6.6.6:6")
	expect(t, "publish", other.publish("r", "f", "6"), wire.OK)
	files("f=6")
	expect(t, "unregister r", other.unregister("r"), wire.OK)
	users("me@1.1.1.1:1", "s@5.5.5.5:5")
	expect(t, "register r", other.register("r"), wire.OK)
	expect(t, "connect r", other.connect("r", "7.7.7.7", "7"), wire.OK)
	expect(t, "publish", other.publish("r", "g", "7"), wire.OK)
	files("g=7")
	users("me@1.1.1.1:1", "s@5.5.5.5:5", "r@7.7.7.7:7")

	// Unchanged lists: every reader gets the one slice.
	var wg sync.WaitGroup
	ulists := make([][]wire.UserRecord, 8)
	flists := make([][]wire.FileRecord, 8)
	for i := range ulists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ulists[i], _ = reader.listUsers("me")
			flists[i], _ = reader.listContent("s", "r")
		}()
	}
	wg.Wait()
	for i := range ulists {
		if len(ulists[i]) != 3 || &ulists[i][0] != &ulists[0][0] {
			t.Fatalf("reader %d: users %v not the shared slice", i, ulists[i])
		}
		if len(flists[i]) != 1 || &flists[i][0] != &flists[0][0] {
			t.Fatalf("reader %d: files %v not the shared slice", i, flists[i])
		}
	}
}

// TestFileClockUpgrade: schema version 3 starts each connection's file
// counter past the numbers its list holds, so PUBLISH after the upgrade
// goes on in publishing order, and a deleted last number is not reused.
func TestFileClockUpgrade(t *testing.T) {
	dsn := testenv.Postgres(t)
	old, err := pgxpool.New(bg, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := migrateTo(bg, old, 2); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`SELECT p2p.register('\x72'), p2p.register('\x6d')`,
		`SELECT p2p.connect('\x72', '\x31', '\x31'), p2p.connect('\x6d', '\x31', '\x32')`,
		`SELECT p2p.publish('\x72', '\x61', '', 0, '{}')`,
		`SELECT p2p.publish('\x72', '\x62', '', 0, '{}')`,
		`SELECT p2p.publish('\x72', '\x63', '', 0, '{}')`,
		`SELECT p2p.delete('\x72', '\x62')`,
	} {
		if _, err := old.Exec(bg, sql); err != nil {
			t.Fatal(sql, err)
		}
	}
	d := newTestDir(t, dsn, 0) // upgrades
	got := func() string {
		recs, o := d.listContent("m", "r")
		expect(t, "list content", o, wire.OK)
		var s string
		for _, r := range recs {
			s += r.Filename
		}
		return s
	}
	if s := got(); s != "ac" {
		t.Fatalf("after the upgrade: %q", s)
	}
	expect(t, "delete", d.delete("r", "c"), wire.OK)
	expect(t, "publish", d.publish("r", "d", ""), wire.OK)
	expect(t, "publish", d.publish("r", "e", ""), wire.OK)
	if s := got(); s != "ade" {
		t.Fatalf("after publishing: %q", s)
	}
	var last int64
	if err := old.QueryRow(bg, `SELECT files_last FROM p2p.conns WHERE name = '\x72'`).Scan(&last); err != nil || last != 5 {
		t.Fatalf("files_last %d %v, want 5", last, err)
	}
}
