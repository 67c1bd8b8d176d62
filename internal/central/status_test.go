package central

import (
	"reflect"
	"strings"
	"testing"

	"p2p/internal/rpclog"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// TestEveryStatus walks every row of the report's "Pruebas" table: each
// status code of each operation, in the state that yields it, checking the
// exact reply bytes, the console line, the log entry and every file of the
// data folder after each step (the CSV store's; the PostgreSQL store's
// state shows in the lists).
func TestEveryStatus(t *testing.T) { forEachStore(t, testEveryStatus) }

func testEveryStatus(t *testing.T, postgres bool) {
	ts := startServer(t, testConfig{Sync: true, Postgres: postgres})
	addr := ts.Addr().String()
	type step struct {
		op    wire.Op
		user  string
		extra []string
		reply string
		// files changed by the step: path → content ("-" = removed)
		files map[string]string
	}
	alice := wire.UserRecord{Username: "alice", IP: "127.0.0.1", Port: "5000"}
	bob := wire.UserRecord{Username: "bob", IP: "127.0.0.1", Port: "6000"}
	unsafe := []string{"", ".", "..", "a/b", `a\b`, "tab\there", "del\x7f", strings.Repeat("u", 252)}
	steps := []step{
		// REGISTER: OK, USERNAME IN USE, FAIL (unsafe names)
		{wire.Register, "alice", nil, "0", map[string]string{"users.csv": "alice\n"}},
		{wire.Register, "alice", nil, "1", nil},
		// UNREGISTER: USERNAME DOES NOT EXIST, OK
		{wire.Unregister, "bob", nil, "1", nil},
		{wire.Register, "bob", nil, "0", map[string]string{"users.csv": "alice\nbob\n"}},
		{wire.Unregister, "bob", nil, "0", map[string]string{"users.csv": "alice\n"}},
		// CONNECT: USER DOES NOT EXIST, FAIL (bad port), OK, ALREADY CONNECTED
		{wire.Connect, "bob", []string{"6000"}, "1", nil},
		{wire.Connect, "alice", []string{"70000"}, "3", nil},
		{wire.Connect, "alice", []string{"x"}, "3", nil},
		{wire.Connect, "alice", []string{"5000"}, "0", map[string]string{"connected.csv": "alice;127.0.0.1;5000\n", "files/alice.csv": ""}},
		{wire.Connect, "alice", []string{"5001"}, "2", nil},
		// DISCONNECT: USER DOES NOT EXIST, NOT CONNECTED, OK
		{wire.Disconnect, "bob", nil, "1", nil},
		{wire.Register, "bob", nil, "0", map[string]string{"users.csv": "alice\nbob\n"}},
		{wire.Disconnect, "bob", nil, "2", nil},
		{wire.Connect, "bob", []string{"6000"}, "0", map[string]string{"connected.csv": "alice;127.0.0.1;5000\nbob;127.0.0.1;6000\n", "files/bob.csv": ""}},
		{wire.Disconnect, "bob", nil, "0", map[string]string{"connected.csv": "alice;127.0.0.1;5000\n", "files/bob.csv": "-"}},
		// PUBLISH: USER DOES NOT EXIST, NOT CONNECTED, OK, ALREADY PUBLISHED
		{wire.Publish, "carol", []string{"f", "d"}, "1", nil},
		{wire.Publish, "bob", []string{"f", "d"}, "2", nil},
		{wire.Publish, "alice", []string{"song.mp3", "a song I like"}, "0", map[string]string{"files/alice.csv": "song.mp3;a song I like\n"}},
		{wire.Publish, "alice", []string{"b;c.txt", `say "hi"`}, "0", map[string]string{"files/alice.csv": "song.mp3;a song I like\n\"b;c.txt\";\"say \"\"hi\"\"\"\n"}},
		{wire.Publish, "alice", []string{"song.mp3", "again"}, "3", nil},
		// DELETE: USER DOES NOT EXIST, NOT CONNECTED, NOT PUBLISHED, OK
		{wire.Delete, "carol", []string{"song.mp3"}, "1", nil},
		{wire.Delete, "bob", []string{"song.mp3"}, "2", nil},
		{wire.Delete, "alice", []string{"nope"}, "3", nil},
		{wire.Publish, "alice", []string{"x", ""}, "0", map[string]string{"files/alice.csv": "song.mp3;a song I like\n\"b;c.txt\";\"say \"\"hi\"\"\"\nx;\n"}},
		{wire.Delete, "alice", []string{"song.mp3"}, "0", map[string]string{"files/alice.csv": "\"b;c.txt\";\"say \"\"hi\"\"\"\nx;\n"}},
		// LIST_USERS: USER DOES NOT EXIST, NOT CONNECTED, OK (in connect order)
		{wire.ListUsers, "carol", nil, "1", nil},
		{wire.ListUsers, "bob", nil, "2", nil},
		{wire.Connect, "bob", []string{"6000"}, "0", map[string]string{"connected.csv": "alice;127.0.0.1;5000\nbob;127.0.0.1;6000\n", "files/bob.csv": ""}},
		{wire.ListUsers, "bob", nil, userList(alice, bob), nil},
		// LIST_CONTENT: USER DOES NOT EXIST, NOT CONNECTED, REMOTE DOES NOT EXIST, OK
		{wire.ListContent, "carol", []string{"alice"}, "1", nil},
		{wire.Register, "carol", nil, "0", map[string]string{"users.csv": "alice\nbob\ncarol\n"}},
		{wire.ListContent, "carol", []string{"alice"}, "2", nil},
		{wire.ListContent, "bob", []string{"dave"}, "3", nil},
		{wire.ListContent, "bob", []string{"alice"}, fileList(wire.FileRecord{Filename: "b;c.txt", Description: `say "hi"`}, wire.FileRecord{Filename: "x"}), nil},
		{wire.ListContent, "bob", []string{"bob"}, fileList(), nil},
		{wire.ListContent, "bob", []string{"carol"}, fileList(), nil}, // registered, not connected: empty
		{wire.ListContent, "bob", []string{"../alice"}, "4", nil},     // unsafe remote: last code
		// SEARCH: USER DOES NOT EXIST, NOT CONNECTED, FAIL (no word), OK
		{wire.Search, "dave", []string{"say"}, "1", nil},
		{wire.Search, "carol", []string{"say"}, "2", nil},
		{wire.Search, "bob", []string{" ;.-_ "}, "3", nil},
		{wire.Search, "bob", []string{"HI say"}, searchList(wire.SearchRecord{Username: "alice", Filename: "b;c.txt", Description: `say "hi"`}), nil},
		{wire.Search, "bob", []string{"b c txt"}, searchList(wire.SearchRecord{Username: "alice", Filename: "b;c.txt", Description: `say "hi"`}), nil},
		{wire.Search, "bob", []string{"song"}, searchList(), nil}, // deleted
		// UNREGISTER of a connected user takes its connection and list along.
		{wire.Unregister, "alice", nil, "0", map[string]string{"users.csv": "bob\ncarol\n", "connected.csv": "bob;127.0.0.1;6000\n", "files/alice.csv": "-"}},
		{wire.ListUsers, "bob", nil, userList(bob), nil},
		{wire.Search, "bob", []string{"say"}, searchList(), nil}, // alice is gone, and her files
	}
	// Every operation's last code for every unsafe username.
	for _, u := range unsafe {
		steps = append(steps,
			step{wire.Register, u, nil, "2", nil},
			step{wire.Unregister, u, nil, "2", nil},
			step{wire.Connect, u, []string{"1"}, "3", nil},
			step{wire.Disconnect, u, nil, "3", nil},
			step{wire.Publish, u, []string{"f", "d"}, "4", nil},
			step{wire.Delete, u, []string{"f"}, "4", nil},
			step{wire.ListUsers, u, nil, "3", nil},
			step{wire.ListContent, u, []string{"bob"}, "4", nil},
			step{wire.Search, u, []string{"x"}, "3", nil},
		)
	}

	want := map[string]string{"users.csv": "", "connected.csv": ""}
	for i, s := range steps {
		got := string(send(t, addr, req(t, s.op, s.user, s.extra...)))
		if got != s.reply {
			t.Fatalf("step %d %s %q %q: reply %q, want %q", i, s.op, s.user, s.extra, got, s.reply)
		}
		for p, c := range s.files {
			if c == "-" {
				delete(want, p)
			} else {
				want[p] = c
			}
		}
		if postgres {
			// no files
		} else if got := dirFiles(t, ts.dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d %s %q: files\n%s\nwant\n%s", i, s.op, s.user, showFiles(got), showFiles(want))
		}
		lines := strings.Split(strings.TrimSuffix(ts.console.String(), "\n"), "\n")
		if last, wantLine := lines[len(lines)-1], "s> OPERATION FROM "+show.Value(s.user); last != wantLine || len(lines) != i+2 {
			t.Fatalf("step %d: console has %d lines, last %q; want %d, %q", i, len(lines), last, i+2, wantLine)
		}
	}
	if !strings.HasPrefix(ts.console.String(), "s> init server ") {
		t.Errorf("console starts %q", ts.console.String()[:30])
	}
	// One log entry per request, with the filename only for PUBLISH and DELETE.
	entries := ts.log.all()
	if len(entries) != len(steps) {
		t.Fatalf("%d log entries for %d requests", len(entries), len(steps))
	}
	for i, s := range steps {
		w := rpclog.Entry{Username: s.user, Operation: string(s.op), DateTime: testDateTime}
		if s.op == wire.Publish || s.op == wire.Delete {
			w.Filename = s.extra[0]
		}
		if entries[i] != w {
			t.Errorf("log entry %d: %+v, want %+v", i, entries[i], w)
		}
	}
}

// TestConsoleShowsUsernamesSafely: the console line of a request whose
// username holds control characters (C0 ones are refused by the
// directory, but the request parsed) is one line with the characters shown as \xHH.
func TestConsoleShowsUsernamesSafely(t *testing.T) {
	ts := startServer(t, testConfig{})
	addr := ts.Addr().String()
	for _, c := range []struct{ user, line string }{
		{"eve\ns> OPERATION FROM root", `s> OPERATION FROM eve\x0as> OPERATION FROM root`},
		{"\x1b]0;pwned\x07\x1b[2J", `s> OPERATION FROM \x1b]0;pwned\x07\x1b[2J`},
		{"c1\u009b2J\xff", `s> OPERATION FROM c1\xc2\x9b2J\xff`},
	} {
		send(t, addr, req(t, wire.Register, c.user))
		lines := strings.Split(strings.TrimSuffix(ts.console.String(), "\n"), "\n")
		if last := lines[len(lines)-1]; last != c.line {
			t.Errorf("console line %q, want %q", last, c.line)
		}
	}
}
