package shell

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// fixedClock is a web service that always answers the same datetime.
type fixedClock string

func (c fixedClock) Now(context.Context) (string, error) { return string(c), nil }

// fakeCentral is a central server that answers every request with reply,
// so a test can make it say what no real server would. It returns the
// address.
func fakeCentral(t *testing.T, reply func(req wire.Request, c net.Conn)) string {
	t.Helper()
	return testenv.Serve(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(time.Minute))
		req, err := wire.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		reply(req, c)
	})
}

// fakeClient is a Shell talking to addr, with its own folder.
func fakeClient(t *testing.T, addr string) *client {
	c := &client{t: t, name: "fake", dir: t.TempDir(), out: new(testenv.Buffer), err: new(testenv.Buffer)}
	c.sh = New(Config{Server: addr, Clock: fixedClock("30/11/2026 17:20:00"), Dir: c.dir, ListenAddr: "127.0.0.1:0", Stdout: c.out, Stderr: c.err})
	t.Cleanup(func() { c.sh.closeListeners() })
	return c
}

// forged is a value another user chose to forge result lines and drive
// the terminal: a new line that looks like a list line, a carriage return
// and cursor movement, a window title, a C1 CSI and a byte that is not
// UTF-8.
const forged = "\n\tbob x \"forged\"\r\x1b[1A\x1b[2K\x1b]0;pwned\x07\u009b2J\xff"

const forgedShown = `\x0a\x09bob x "forged"\x0d\x1b[1A\x1b[2K\x1b]0;pwned\x07\xc2\x9b2J\xff`

// TestForeignValuesShownSafely: usernames, addresses, filenames and
// descriptions from the server are shown as \xHH where they hold control
// characters or bytes that are not UTF-8, on stdout and on stderr; they
// cannot add a line or reach the terminal; the JSON file keeps them exact.
func TestForeignValuesShownSafely(t *testing.T) {
	addr := fakeCentral(t, func(req wire.Request, c net.Conn) {
		switch req.Op {
		case wire.ListUsers:
			b, _ := wire.AppendUserList(nil, []wire.UserRecord{{Username: "bob" + forged, IP: "127.0.0.1\x1b[2J", Port: "1\n"}})
			c.Write(b)
		case wire.ListContent:
			b, _ := wire.AppendFileList(nil, []wire.FileRecord{{Filename: "song" + forged + ".mp3", Description: forged}})
			c.Write(b)
		default:
			c.Write([]byte("0"))
		}
	})
	c := fakeClient(t, addr)
	c.do("REGISTER alice", "REGISTER OK")
	c.do("LIST_USERS", "LIST_USERS OK", q("\tbob"+forgedShown+` 127.0.0.1\x1b[2J 1\x0a`))
	c.do("LIST_CONTENT bob", "LIST_CONTENT OK", q("\tsong"+forgedShown+`.mp3 "`+forgedShown+`"`))
	// GET_FILE names the user it cannot reach on stderr.
	c.do("GET_FILE bob"+strings.Repeat("\x1b", 3)+" f g", "GET_FILE FAIL")
	for name, out := range map[string]string{"stdout": c.out.String(), "stderr": c.err.String()} {
		if strings.ContainsAny(out, "\x1b\r\x07\xff\u009b") {
			t.Errorf("%s holds a control character: %q", name, out)
		}
	}
	if !strings.Contains(c.err.String(), `"bob\x1b\x1b\x1b"`) {
		t.Errorf("stderr does not name the user safely: %q", c.err.String())
	}
	// The JSON file keeps the exact values (JSON strings are Unicode:
	// a byte that is not UTF-8 is U+FFFD there, as it always was).
	data, err := os.ReadFile(filepath.Join(c.dir, "listusers-alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.sh.findUser("alice", strings.ToValidUTF8("bob"+forged, "\uFFFD"))
	if err != nil || u == nil || u.IP != "127.0.0.1\x1b[2J" || u.Port != "1\n" {
		t.Errorf("listusers-alice.json = %s: %+v %v", data, u, err)
	}
}

// TestUnsafeUsernamesNoFiles: a server that accepts any name cannot make
// the client write its JSON files outside its folder. A username that is
// no safe file name is sent like any other (§7 refuses only values too
// long for their field; the server refuses it, §4), but no JSON file is
// written for it: a warning on stderr says why.
func TestUnsafeUsernamesNoFiles(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	addr := fakeCentral(t, func(req wire.Request, c net.Conn) {
		mu.Lock()
		seen = append(seen, string(req.Op)+" "+req.Username)
		mu.Unlock()
		if req.Op == wire.ListUsers {
			b, _ := wire.AppendUserList(nil, nil)
			c.Write(b)
			return
		}
		c.Write([]byte("0"))
	})
	c := fakeClient(t, addr)
	parent := filepath.Dir(c.dir)
	before, _ := os.ReadDir(parent)
	for _, u := range []string{"../evil", "..", ".", "a/b", `a\b`, "/tmp/x", "esc\x1b", strings.Repeat("u", 252)} {
		for _, op := range []string{"REGISTER", "CONNECT", "DISCONNECT", "UNREGISTER"} {
			c.do(op+" "+u, op+" OK")
		}
		// u was named: the commands that use the current user carry it.
		c.do("LIST_USERS", "LIST_USERS OK")
		c.do("PUBLISH f d", "PUBLISH OK")
	}
	after, _ := os.ReadDir(parent)
	if len(after) != len(before) {
		t.Errorf("files appeared beside the client's folder: %v → %v", before, after)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range []string{"../evil", "a/b", strings.Repeat("u", 252)} {
		for _, op := range []string{"REGISTER", "CONNECT", "DISCONNECT", "UNREGISTER", "LIST_USERS", "PUBLISH"} {
			if !slices.Contains(seen, op+" "+u) {
				t.Errorf("%s %s was not sent: %q", op, u, seen)
			}
		}
	}
	if !strings.Contains(c.err.String(), `"../evil" cannot be part of a file name`) {
		t.Errorf("no reason on stderr: %s", c.err.String())
	}
}
