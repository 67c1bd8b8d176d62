package central

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// TestUnwritableFolder replaces parts of the data folder under a running
// server (tests run as root, so file modes would stop nothing): the
// operations that need them answer their FAIL code, the server keeps
// serving, and it recovers once the folder is back.
func TestUnwritableFolder(t *testing.T) {
	ts := startServer(t, testConfig{Sync: true})
	for _, s := range [][]string{{"REGISTER", "a"}, {"REGISTER", "b"}, {"CONNECT", "b", "1"}} {
		if r := ts.do(t, wire.Op(s[0]), s[1], s[2:]...); r != "0" {
			t.Fatalf("%v: %q", s, r)
		}
	}
	files := filepath.Join(ts.dir, "files")
	must(t, os.Rename(files, files+".away"))
	must(t, os.WriteFile(files, []byte("not a folder"), 0o644))
	if r := ts.do(t, wire.Connect, "a", "2"); r != "3" {
		t.Errorf("connect with files/ broken: %q, want 3", r)
	}
	if r := ts.do(t, wire.Publish, "b", "f", "d"); r != "4" {
		t.Errorf("publish with files/ broken: %q, want 4", r)
	}
	if r := ts.do(t, wire.ListUsers, "b"); r != userList(wire.UserRecord{Username: "b", IP: "127.0.0.1", Port: "1"}) {
		t.Errorf("list users with files/ broken: %q", r)
	}
	users := filepath.Join(ts.dir, "users.csv")
	must(t, os.Rename(users, users+".away"))
	must(t, os.Mkdir(users, 0o755))
	if r := ts.do(t, wire.Register, "c"); r != "2" {
		t.Errorf("register with users.csv broken: %q, want 2", r)
	}
	if r := ts.do(t, wire.Unregister, "a"); r != "2" {
		t.Errorf("unregister with users.csv broken: %q, want 2", r)
	}
	if !strings.Contains(ts.errs.String(), "cannot write") {
		t.Errorf("no warning on stderr: %q", ts.errs.String())
	}
	must(t, os.Remove(users))
	must(t, os.Rename(users+".away", users))
	must(t, os.Remove(files))
	must(t, os.Rename(files+".away", files))
	for _, s := range [][]string{{"REGISTER", "c"}, {"CONNECT", "a", "2"}, {"PUBLISH", "b", "f", "d"}, {"UNREGISTER", "c"}} {
		if r := ts.do(t, wire.Op(s[0]), s[1], s[2:]...); r != "0" {
			t.Errorf("%v after repair: %q", s, r)
		}
	}
	want := map[string]string{
		"users.csv":     "a\nb\n",
		"connected.csv": "b;127.0.0.1;1\na;127.0.0.1;2\n",
		"files/a.csv":   "",
		"files/b.csv":   "f;d\n",
	}
	if got := dirFiles(t, ts.dir); showFiles(got) != showFiles(want) {
		t.Errorf("files after recovery:\n%s\nwant\n%s", showFiles(got), showFiles(want))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestIdleConnections holds 1,000 connections open that send nothing,
// from 50 addresses (each under the per-source cap, all under MaxConns): a
// normal request is still answered. (From one address, see
// TestIdleFloodFromOneAddress.)
func TestIdleConnections(t *testing.T) {
	const idle = 1000
	testenv.RaiseFileLimit(t, 2*idle+256) // both ends live in this process
	ts := startServer(t, testConfig{Config: Config{ReadTimeout: time.Minute, FirstByteTimeout: time.Minute}})
	addr := ts.Addr().String()
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i%50))}}
		c, err := d.Dial("tcp4", addr)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	if r := ts.do(t, wire.Register, "busy"); r != "0" {
		t.Fatalf("register beside %d idle connections: %q", idle, r)
	}
	if r := ts.do(t, wire.Connect, "busy", "9"); r != "0" {
		t.Fatalf("connect beside %d idle connections: %q", idle, r)
	}
}
