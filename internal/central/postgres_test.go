package central

import (
	"strings"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// TestProcessUsageDB: -db refuses the CSV store's flags, and a connection
// string that does not parse is a bad flag: usage, exit 2.
func TestProcessUsageDB(t *testing.T) {
	bin := serverBinary(t)
	for _, args := range [][]string{
		{"-p", "2000", "-db", "host=/tmp", "-d", "."},
		{"-p", "2000", "-db", "host=/tmp", "-sync=false"},
		{"-p", "2000", "-db", "port=notanumber"},
	} {
		r := testenv.Run(t, bin, args...)
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "usage: server -p ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// TestProcessTwoServersOneDatabase: two server processes on one database
// behave as one server: a change acknowledged by one is seen by the other,
// the connection order is one, and a name taken through one is taken for
// both.
func TestProcessTwoServersOneDatabase(t *testing.T) {
	dsn := testenv.Postgres(t)
	a := startProc(t, "", "-db", dsn)
	b := startProc(t, "", "-db", dsn)
	steps := []struct {
		p     *proc
		op    wire.Op
		user  string
		extra []string
		want  string
	}{
		{a, wire.Register, "alice", nil, "0"},
		{b, wire.Register, "alice", nil, "1"},
		{b, wire.Register, "bob", nil, "0"},
		{b, wire.Connect, "bob", []string{"6000"}, "0"},
		{a, wire.Connect, "alice", []string{"5000"}, "0"},
		{a, wire.Connect, "bob", []string{"6001"}, "2"},
		{b, wire.Publish, "alice", []string{"song.mp3", "a song"}, "0"},
		{a, wire.Publish, "alice", []string{"song.mp3", "again"}, "3"},
		{a, wire.Publish, "alice", []string{"b;c", `"x"`}, "0"},
		{a, wire.ListUsers, "alice", nil, userList(
			wire.UserRecord{Username: "bob", IP: "127.0.0.1", Port: "6000"},
			wire.UserRecord{Username: "alice", IP: "127.0.0.1", Port: "5000"})},
		{b, wire.ListContent, "bob", []string{"alice"}, fileList(
			wire.FileRecord{Filename: "song.mp3", Description: "a song"},
			wire.FileRecord{Filename: "b;c", Description: `"x"`})},
		{b, wire.Unregister, "alice", nil, "0"},
		{a, wire.ListContent, "bob", []string{"alice"}, "3"},
		{a, wire.ListUsers, "bob", nil, userList(wire.UserRecord{Username: "bob", IP: "127.0.0.1", Port: "6000"})},
	}
	for i, s := range steps {
		if got := string(send(t, s.p.addr, req(t, s.op, s.user, s.extra...))); got != s.want {
			t.Fatalf("step %d %s %s: %q, want %q", i, s.op, s.user, got, s.want)
		}
	}
	// Killed and restarted, a server carries on from the database.
	a.Kill()
	a = startProc(t, "", "-db", dsn)
	if got := string(send(t, a.addr, req(t, wire.Register, "bob"))); got != "1" {
		t.Errorf("bob after a restart: %q", got)
	}
	for _, p := range []*proc{a, b} {
		if p.Stderr.String() != "" {
			t.Errorf("stderr: %s", p.Stderr.String())
		}
	}
}

// TestProcessDatabaseDown: a server whose database is down at start
// starts all the same, answers last codes and warns once; when the
// database comes up it makes the schema and answers, and warns that it
// works again. A database lost later is the same outage.
func TestProcessDatabaseDown(t *testing.T) {
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{SyncCommit: true})
	dsn := pg.CreateDatabase(t)
	pg.Stop()
	p := startProc(t, "", "-db", dsn)
	if !testenv.Poll(5*time.Second, func() bool { return strings.Contains(p.Stderr.String(), "until the database answers") }) {
		t.Fatalf("no warning at start: %q", p.Stderr.String())
	}
	for _, s := range []struct {
		op   wire.Op
		want string
	}{{wire.Register, "2"}, {wire.Connect, "3"}, {wire.ListUsers, "3"}} {
		start := time.Now()
		if got := string(send(t, p.addr, req(t, s.op, "alice", "5000"))); got != s.want {
			t.Errorf("%s with the database down: %q, want %q", s.op, got, s.want)
		}
		if took := time.Since(start); took > 6*time.Second {
			t.Errorf("%s took %v", s.op, took)
		}
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if got := string(send(t, p.addr, req(t, wire.Register, "alice"))); got != "0" {
		t.Fatalf("register once the database is up: %q\n%s", got, p.Stderr.String())
	}
	// A success ends the outage once the failures have stopped for a
	// moment (recoverQuiet): requests go on until its note, or a kill
	// right now would continue the same outage.
	recovered := func(n int) {
		t.Helper()
		if !testenv.Poll(10*time.Second, func() bool {
			if got := string(send(t, p.addr, req(t, wire.Register, "alice"))); got != "1" {
				t.Fatalf("alice with the database up: %q", got)
			}
			return strings.Count(p.Stderr.String(), "directory: the store works again\n") >= n
		}) {
			t.Fatalf("no note that the store works again:\n%s", p.Stderr.String())
		}
	}
	recovered(1)
	pg.Kill()
	if got := string(send(t, p.addr, req(t, wire.Register, "bob"))); got != "2" {
		t.Errorf("register with the database killed: %q", got)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if got := string(send(t, p.addr, req(t, wire.Register, "alice"))); got != "1" {
		t.Errorf("alice after the crash: %q", got)
	}
	recovered(2)
	warn := p.Stderr.String()
	if n := strings.Count(warn, "requests get their last code until the store works again"); n != 2 {
		t.Errorf("%d outage warnings, want 2 (one per outage):\n%s", n, warn)
	}
	if n := strings.Count(warn, "directory: the store works again\n"); n != 2 {
		t.Errorf("no recovery notes:\n%s", warn)
	}
}

// TestValuesRoundTripPostgres: the values of TestValuesRoundTrip come back
// exactly from the PostgreSQL store, and from a new server on the same
// database.
func TestValuesRoundTripPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	ts := startServer(t, testConfig{DSN: dsn})
	user, files := roundTripValues(t)
	for _, s := range []struct {
		op    wire.Op
		extra []string
	}{{wire.Register, nil}, {wire.Connect, []string{"65535"}}} {
		if r := ts.do(t, s.op, user, s.extra...); r != "0" {
			t.Fatalf("%s: %q", s.op, r)
		}
	}
	for _, f := range files {
		if r := ts.do(t, wire.Publish, user, f.Filename, f.Description); r != "0" {
			t.Fatalf("publish %q: %q", f.Filename, r)
		}
	}
	ts.Close()
	ts2 := startServer(t, testConfig{DSN: dsn})
	if got, want := ts2.do(t, wire.ListContent, user, user), fileList(files...); got != want {
		t.Errorf("list content differs")
	}
	if got, want := ts2.do(t, wire.ListUsers, user), userList(wire.UserRecord{Username: user, IP: "127.0.0.1", Port: "65535"}); got != want {
		t.Errorf("list users differs")
	}
}
