package central

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/wire"
)

// rawExchange writes raw (ignoring write errors: the server may close
// first), optionally half-closes, and returns what came back before the
// server closed.
func rawExchange(t *testing.T, addr string, raw []byte, halfClose bool) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		c.Write(raw)
		if halfClose {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	got, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading: %v", err)
	}
	return got
}

func TestMalformed(t *testing.T) {
	ts := startServer(t, testConfig{Config: Config{ReadTimeout: 500 * time.Millisecond}})
	addr := ts.Addr().String()
	if r := ts.do(t, wire.Register, "ok"); r != "0" {
		t.Fatal(r)
	}
	good := req(t, wire.Publish, "ok", "f", "d")
	garbage := make([]byte, 4<<20)
	rand.Read(garbage)
	cases := []struct {
		name string
		raw  []byte
		half bool
	}{
		{"unknown cop", append([]byte("HELLO\x00"), good[8:]...), false},
		{"lower-case cop", append([]byte("register\x00"), good[8:]...), false},
		{"peer cop", []byte("GET_FILE\x00" + strings.Repeat("\x00", 256)), false},
		{"overlong cop", bytes.Repeat([]byte("A"), 100), false},
		{"truncated cop", []byte("PUBL"), true},
		{"truncated after cop", good[:8], true},
		{"truncated in last field", good[:len(good)-1], true},
		{"empty", nil, true},
		{"megabytes of garbage", garbage, false},
		{"megabytes of NUL", make([]byte, 2<<20), false},
	}
	for _, c := range cases {
		if got := rawExchange(t, addr, c.raw, c.half); len(got) != 0 {
			t.Errorf("%s: got reply %q, want none", c.name, got)
		}
	}
	// A connection that sends nothing (or half a request) is closed after
	// the read deadline, and does not hold anyone else up meanwhile.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	slow, _ := net.Dial("tcp", addr)
	defer slow.Close()
	slow.Write(good[:20])
	if r := ts.do(t, wire.Connect, "ok", "1"); r != "0" {
		t.Errorf("request beside idle connections: %q", r)
	}
	for _, c := range []net.Conn{idle, slow} {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("idle connection: read %d, %v; want EOF from the server", n, err)
		}
	}
	if got := strings.Count(ts.console.String(), "\n"); got != 3 {
		t.Errorf("console has %d lines, want 3 (init + 2 requests):\n%s", got, ts.console.String())
	}
	if r := ts.do(t, wire.ListContent, "ok", "ok"); r != fileList() {
		t.Errorf("after garbage: %q", r)
	}
}

// TestConcurrentClients: many clients at once register, connect, publish
// and delete distinct names; afterwards every acknowledged operation shows
// in LIST_USERS, LIST_CONTENT and (for the CSV store) the CSVs.
func TestConcurrentClients(t *testing.T) { forEachStore(t, testConcurrentClients) }

func testConcurrentClients(t *testing.T, postgres bool) {
	ts := startServer(t, testConfig{Sync: true, Postgres: postgres})
	const clients = 24
	var wg sync.WaitGroup
	names := make([]string, clients)
	for i := range clients {
		names[i] = "user " + string(rune('a'+i)) + ";é"
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := names[i]
			steps := []struct {
				op    wire.Op
				extra []string
			}{
				{wire.Register, nil},
				{wire.Connect, []string{"4000"}},
				{wire.Publish, []string{"keep " + u, "d"}},
				{wire.Publish, []string{"drop", "d"}},
				{wire.Publish, []string{"keep2", "d2"}},
				{wire.Delete, []string{"drop"}},
			}
			for _, s := range steps {
				if r := ts.do(t, s.op, u, s.extra...); r != "0" {
					t.Errorf("%s %s: %q", u, s.op, r)
					return
				}
			}
			// Every other client goes away again.
			if i%3 == 0 {
				if r := ts.do(t, wire.Disconnect, u); r != "0" {
					t.Errorf("%s disconnect: %q", u, r)
				}
				if r := ts.do(t, wire.Unregister, u); r != "0" {
					t.Errorf("%s unregister: %q", u, r)
				}
			}
		}()
	}
	wg.Wait()
	var stay []string
	for i, u := range names {
		if i%3 != 0 {
			stay = append(stay, u)
		}
	}
	list := ts.do(t, wire.ListUsers, stay[0])
	recs, err := wire.ReadUserList(strings.NewReader(list[1:]))
	if err != nil || list[0] != '0' || len(recs) != len(stay) {
		t.Fatalf("list users: %d records, %v", len(recs), err)
	}
	listed := map[string]bool{}
	for _, r := range recs {
		listed[r.Username] = true
	}
	for _, u := range stay {
		if !listed[u] {
			t.Errorf("%s missing from LIST_USERS", u)
		}
		want := fileList(wire.FileRecord{Filename: "keep " + u, Description: "d"}, wire.FileRecord{Filename: "keep2", Description: "d2"})
		if got := ts.do(t, wire.ListContent, stay[0], u); got != want {
			t.Errorf("%s: list content differs", u)
		}
	}
	if postgres {
		return
	}
	files := dirFiles(t, ts.dir)
	users := readCSV(t, ts.dir+"/users.csv")
	conns := readCSV(t, ts.dir+"/connected.csv")
	if len(users) != len(stay) || len(conns) != len(stay) {
		t.Errorf("users.csv %d lines, connected.csv %d, want %d", len(users), len(conns), len(stay))
	}
	for _, u := range stay {
		if got := readCSV(t, ts.dir+"/files/"+u+".csv"); len(got) != 2 {
			t.Errorf("%s.csv: %q", u, got)
		}
	}
	if len(files) != 2+len(stay) {
		t.Errorf("%d files in the data folder, want %d:\n%s", len(files), 2+len(stay), showFiles(files))
	}
}
