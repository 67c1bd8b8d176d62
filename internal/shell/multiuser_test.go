package shell

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// connectedCSV reads the central server's connected.csv.
func (w *world) connectedCSV() string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.srvDir, "connected.csv"))
	if err != nil && !os.IsNotExist(err) {
		w.t.Fatal(err)
	}
	return string(b)
}

// listening reports whether something accepts connections at addr.
func listening(addr string) bool {
	c, err := net.Dial("tcp4", addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestConnectTwoUsers: one client connects as u1, then as u2 (§7: each
// command gets its datetime line and is sent), with the port of its one
// listener; that listener serves the files of both until each disconnects.
func TestConnectTwoUsers(t *testing.T) {
	w := newWorld(t)
	a, b := w.client("a"), w.client("b")
	a.do("REGISTER u1", "REGISTER OK")
	a.do("REGISTER u2", "REGISTER OK")
	b.do("REGISTER bob", "REGISTER OK")

	a.do("CONNECT u1", "CONNECT OK")
	addr := a.sh.ListenerAddr()
	if addr == "" {
		t.Fatal("CONNECT OK without a listener")
	}
	port := a.sh.listener.Port()
	a.write("one.txt", []byte("of u1"))
	a.write("common.txt", []byte("shared name"))
	a.write("two.txt", []byte("of u2"))
	a.do("PUBLISH one.txt first", "PUBLISH OK")
	a.do("PUBLISH common.txt by u1", "PUBLISH OK")

	a.do("CONNECT u2", "CONNECT OK")
	if got := a.sh.ListenerAddr(); got != addr {
		t.Fatalf("the second CONNECT moved the listener from %s to %s", addr, got)
	}
	if got, want := w.connectedCSV(), fmt.Sprintf("u1;127.0.0.1;%d\nu2;127.0.0.1;%d\n", port, port); got != want {
		t.Errorf("connected.csv = %q, want %q", got, want)
	}
	if a.sh.User() != "u2" || strings.Join(a.sh.ConnectedUsers(), ",") != "u1,u2" {
		t.Errorf("user %q, connected %q", a.sh.User(), a.sh.ConnectedUsers())
	}
	// Requests carry u2 now: its list, its listusers file.
	a.do("PUBLISH two.txt second", "PUBLISH OK")
	a.do("PUBLISH common.txt by u2", "PUBLISH OK")
	a.do("LIST_USERS", "LIST_USERS OK", fmt.Sprintf(`\tu1 127\.0\.0\.1 %d`, port), fmt.Sprintf(`\tu2 127\.0\.0\.1 %d`, port))
	if !a.exists("listusers-u2.json") || a.exists("listusers-u1.json") {
		t.Error("LIST_USERS did not carry u2")
	}
	if got := a.file("published-u1.json"); got != `[{"Filename": "one.txt", "Description": "first"}, {"Filename": "common.txt", "Description": "by u1"}]`+"\n" {
		t.Errorf("published-u1.json = %s", got)
	}
	if got := a.file("published-u2.json"); got != `[{"Filename": "two.txt", "Description": "second"}, {"Filename": "common.txt", "Description": "by u2"}]`+"\n" {
		t.Errorf("published-u2.json = %s", got)
	}
	// CONNECT of a user already connected is still sent; a failed CONNECT
	// leaves the listener of the others open.
	before := strings.Count(w.console.String(), "\n")
	a.do("CONNECT u2", "CONNECT FAIL, USER ALREADY CONNECTED")
	a.do("CONNECT u1", "CONNECT FAIL, USER ALREADY CONNECTED")
	a.do("CONNECT ghost", "CONNECT FAIL, USER DOES NOT EXIST")
	if got := strings.Count(w.console.String(), "\n") - before; got != 3 {
		t.Errorf("the server saw %d of the 3 CONNECTs", got)
	}
	if a.sh.ListenerAddr() != addr || a.sh.User() != "u2" {
		t.Errorf("after failed CONNECTs: listener %q, user %q", a.sh.ListenerAddr(), a.sh.User())
	}

	// Another client downloads the files of both from the one port.
	b.do("CONNECT bob", "CONNECT OK")
	b.do("LIST_USERS", "LIST_USERS OK", fmt.Sprintf(`\tu1 127\.0\.0\.1 %d`, port), fmt.Sprintf(`\tu2 127\.0\.0\.1 %d`, port), `\tbob 127\.0\.0\.1 \d+`)
	b.do("GET_FILE u1 one.txt x1", "GET_FILE OK")
	b.do("GET_FILE u2 two.txt x2", "GET_FILE OK")
	if b.file("x1") != "of u1" || b.file("x2") != "of u2" {
		t.Errorf("downloads: %q %q", b.file("x1"), b.file("x2"))
	}

	// DISCONNECT u2: its files go, u1's (and the name both publish) stay.
	a.do("DISCONNECT u2", "DISCONNECT OK")
	if a.sh.ListenerAddr() != addr || !listening(addr) {
		t.Fatal("DISCONNECT of one of two users closed the listener")
	}
	if a.sh.User() != "u1" {
		t.Errorf("requests carry %q after DISCONNECT u2, want u1", a.sh.User())
	}
	if got := a.file("published-u2.json"); got != "[]\n" {
		t.Errorf("published-u2.json after DISCONNECT = %q", got)
	}
	if got, want := w.connectedCSV(), fmt.Sprintf("u1;127.0.0.1;%d\nbob;127.0.0.1;%d\n", port, b.sh.listener.Port()); got != want {
		t.Errorf("connected.csv = %q, want %q", got, want)
	}
	b.do("GET_FILE u2 two.txt y2", "GET_FILE FAIL, FILE DOES NOT EXIST")
	b.do("GET_FILE u1 two.txt y2", "GET_FILE FAIL, FILE DOES NOT EXIST")
	b.do("GET_FILE u1 one.txt y1", "GET_FILE OK")
	b.do("GET_FILE u1 common.txt yc", "GET_FILE OK")
	if b.exists("y2") || b.file("y1") != "of u1" || b.file("yc") != "shared name" {
		t.Error("downloads after DISCONNECT u2")
	}
	// Requests carry u1 again: PUBLISH lands in u1's list.
	a.do("PUBLISH two.txt now u1's", "PUBLISH OK")
	a.do("LIST_CONTENT u1", "LIST_CONTENT OK", `\tone\.txt "first"`, `\tcommon\.txt "by u1"`, `\ttwo\.txt "now u1's"`)
	b.do("GET_FILE u1 two.txt z2", "GET_FILE OK")

	// QUIT disconnects both, in the order they connected, then closes
	// the listener.
	a.do("CONNECT u2", "CONNECT OK")
	before = strings.Count(w.console.String(), "\n")
	if !a.sh.Exec(context.Background(), "QUIT") {
		t.Error("QUIT did not ask to exit")
	}
	got := a.newLines()
	if len(got) != 4 || !dateLine.MatchString(got[0]) || got[1] != "DISCONNECT OK" || !dateLine.MatchString(got[2]) || got[3] != "DISCONNECT OK" {
		t.Errorf("QUIT printed %q", got)
	}
	if seen := strings.Split(w.console.String(), "\n")[before:]; len(seen) < 2 || seen[0] != "s> OPERATION FROM u1" || seen[1] != "s> OPERATION FROM u2" {
		t.Errorf("the server saw %q on QUIT, want u1 then u2", seen)
	}
	if got, want := w.connectedCSV(), fmt.Sprintf("bob;127.0.0.1;%d\n", b.sh.listener.Port()); got != want {
		t.Errorf("connected.csv after QUIT = %q, want %q", got, want)
	}
	b.do("LIST_USERS", "LIST_USERS OK", `\tbob 127\.0\.0\.1 \d+`)
	if a.sh.ListenerAddr() != "" || listening(addr) || len(a.sh.ConnectedUsers()) != 0 {
		t.Error("QUIT left the listener open or a user connected")
	}
}

// TestCurrentUserAfterDisconnect: requests carry the most recently
// connected of the users still connected, then the last one named; the
// listener closes with the last user (UNREGISTER included), and the end
// of input disconnects every user.
func TestCurrentUserAfterDisconnect(t *testing.T) {
	w := newWorld(t)
	a := w.client("a")
	for _, u := range []string{"u1", "u2", "u3"} {
		a.do("REGISTER "+u, "REGISTER OK")
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		a.do("CONNECT "+u, "CONNECT OK")
	}
	addr := a.sh.ListenerAddr()
	a.do("DISCONNECT u1", "DISCONNECT OK")
	if a.sh.User() != "u3" {
		t.Errorf("after DISCONNECT u1 requests carry %q, want u3", a.sh.User())
	}
	a.do("DISCONNECT u3", "DISCONNECT OK")
	if a.sh.User() != "u2" {
		t.Errorf("after DISCONNECT u3 requests carry %q, want u2", a.sh.User())
	}
	a.do("DISCONNECT u3", "DISCONNECT FAIL, USER NOT CONNECTED")
	if a.sh.User() != "u2" || !listening(addr) {
		t.Errorf("a failed DISCONNECT of another user: user %q", a.sh.User())
	}
	a.do("UNREGISTER u2", "UNREGISTER OK")
	if a.sh.ListenerAddr() != "" || listening(addr) {
		t.Error("the listener outlived the last user")
	}
	if a.sh.User() != "u2" || a.sh.Connected() != "" {
		t.Errorf("user %q, connected %q", a.sh.User(), a.sh.Connected())
	}

	// The end of input disconnects each user still connected.
	a.do("CONNECT u1", "CONNECT OK")
	a.do("CONNECT u3", "CONNECT OK")
	addr = a.sh.ListenerAddr()
	if err := a.sh.RunPipe(context.Background(), strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	got := a.newLines()
	if len(got) != 4 || got[1] != "DISCONNECT OK" || got[3] != "DISCONNECT OK" {
		t.Errorf("end of input printed %q", got)
	}
	if c := w.connectedCSV(); c != "" {
		t.Errorf("connected.csv = %q", c)
	}
	if listening(addr) {
		t.Error("listener open after the end of input")
	}
}
