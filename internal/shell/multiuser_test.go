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

// listenerPort is the current user's GET_FILE listener port.
func (s *Shell) listenerPort() int { return s.sessions[len(s.sessions)-1].ln.Port() }

// TestConnectTwoUsers: one client connects as u1, then as u2 (§7: each
// command gets its datetime line and is sent); each CONNECT opens its own
// listener, which serves only that user's files (§3) until that user
// disconnects.
func TestConnectTwoUsers(t *testing.T) {
	w := newWorld(t)
	a, b := w.client("a"), w.client("b")
	a.do("REGISTER u1", "REGISTER OK")
	a.do("REGISTER u2", "REGISTER OK")
	b.do("REGISTER bob", "REGISTER OK")

	a.do("CONNECT u1", "CONNECT OK")
	addr1, port1 := a.sh.ListenerAddr(), a.sh.listenerPort()
	if addr1 == "" {
		t.Fatal("CONNECT OK without a listener")
	}
	a.write("one.txt", []byte("of u1"))
	a.write("common.txt", []byte("shared name"))
	a.write("two.txt", []byte("of u2"))
	a.do("PUBLISH one.txt first", "PUBLISH OK")
	a.do("PUBLISH common.txt by u1", "PUBLISH OK")

	a.do("CONNECT u2", "CONNECT OK")
	addr2, port2 := a.sh.ListenerAddr(), a.sh.listenerPort()
	if addr2 == addr1 || !listening(addr1) || !listening(addr2) {
		t.Fatalf("listeners after the second CONNECT: u1 %s, u2 %s", addr1, addr2)
	}
	if got, want := w.connectedCSV(), fmt.Sprintf("u1;127.0.0.1;%d\nu2;127.0.0.1;%d\n", port1, port2); got != want {
		t.Errorf("connected.csv = %q, want %q", got, want)
	}
	if a.sh.User() != "u2" || strings.Join(a.sh.ConnectedUsers(), ",") != "u1,u2" {
		t.Errorf("user %q, connected %q", a.sh.User(), a.sh.ConnectedUsers())
	}
	// Requests carry u2 now: its list, its listusers file.
	a.do("PUBLISH two.txt second", "PUBLISH OK")
	a.do("PUBLISH common.txt by u2", "PUBLISH OK")
	a.do("LIST_USERS", "LIST_USERS OK", fmt.Sprintf(`\tu1 127\.0\.0\.1 %d`, port1), fmt.Sprintf(`\tu2 127\.0\.0\.1 %d`, port2))
	if !a.exists("listusers-u2.json") || a.exists("listusers-u1.json") {
		t.Error("LIST_USERS did not carry u2")
	}
	if got := a.file("published-u1.json"); got != `[{"Filename": "one.txt", "Description": "first"}, {"Filename": "common.txt", "Description": "by u1"}]`+"\n" {
		t.Errorf("published-u1.json = %s", got)
	}
	if got := a.file("published-u2.json"); got != `[{"Filename": "two.txt", "Description": "second"}, {"Filename": "common.txt", "Description": "by u2"}]`+"\n" {
		t.Errorf("published-u2.json = %s", got)
	}
	// CONNECT of a user already connected is still sent, with that user's
	// port; a failed CONNECT leaves the others' listeners open.
	before := strings.Count(w.console.String(), "\n")
	a.do("CONNECT u2", "CONNECT FAIL, USER ALREADY CONNECTED")
	a.do("CONNECT u1", "CONNECT FAIL, USER ALREADY CONNECTED")
	a.do("CONNECT ghost", "CONNECT FAIL, USER DOES NOT EXIST")
	if got := strings.Count(w.console.String(), "\n") - before; got != 3 {
		t.Errorf("the server saw %d of the 3 CONNECTs", got)
	}
	if a.sh.ListenerAddr() != addr2 || a.sh.User() != "u2" || !listening(addr1) {
		t.Errorf("after failed CONNECTs: listener %q, user %q", a.sh.ListenerAddr(), a.sh.User())
	}

	// Another client downloads each user's files from that user's address;
	// neither address serves the other user's files.
	b.do("CONNECT bob", "CONNECT OK")
	b.do("LIST_USERS", "LIST_USERS OK", fmt.Sprintf(`\tu1 127\.0\.0\.1 %d`, port1), fmt.Sprintf(`\tu2 127\.0\.0\.1 %d`, port2), `\tbob 127\.0\.0\.1 \d+`)
	b.do("GET_FILE u1 one.txt x1", "GET_FILE OK")
	b.do("GET_FILE u2 two.txt x2", "GET_FILE OK")
	b.do("GET_FILE u1 two.txt n1", "GET_FILE FAIL, FILE DOES NOT EXIST")
	b.do("GET_FILE u2 one.txt n2", "GET_FILE FAIL, FILE DOES NOT EXIST")
	if b.file("x1") != "of u1" || b.file("x2") != "of u2" || b.exists("n1") || b.exists("n2") {
		t.Error("downloads from u1 and u2")
	}

	// DISCONNECT u2 closes u2's listener only.
	a.do("DISCONNECT u2", "DISCONNECT OK")
	if listening(addr2) || !listening(addr1) || a.sh.ListenerAddr() != addr1 {
		t.Fatal("DISCONNECT u2 did not close exactly u2's listener")
	}
	if a.sh.User() != "u1" {
		t.Errorf("requests carry %q after DISCONNECT u2, want u1", a.sh.User())
	}
	if got := a.file("published-u2.json"); got != "[]\n" {
		t.Errorf("published-u2.json after DISCONNECT = %q", got)
	}
	if got, want := w.connectedCSV(), fmt.Sprintf("u1;127.0.0.1;%d\nbob;127.0.0.1;%d\n", port1, b.sh.listenerPort()); got != want {
		t.Errorf("connected.csv = %q, want %q", got, want)
	}
	b.do("GET_FILE u1 one.txt y1", "GET_FILE OK")
	b.do("GET_FILE u1 common.txt yc", "GET_FILE OK")
	if b.file("y1") != "of u1" || b.file("yc") != "shared name" {
		t.Error("downloads after DISCONNECT u2")
	}
	// Requests carry u1 again: PUBLISH lands in u1's list.
	a.do("PUBLISH two.txt now u1's", "PUBLISH OK")
	a.do("LIST_CONTENT u1", "LIST_CONTENT OK", `\tone\.txt "first"`, `\tcommon\.txt "by u1"`, `\ttwo\.txt "now u1's"`)
	b.do("GET_FILE u1 two.txt z2", "GET_FILE OK")

	// QUIT disconnects both, in the order they connected, then closes
	// their listeners.
	a.do("CONNECT u2", "CONNECT OK")
	addr2 = a.sh.ListenerAddr()
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
	if got, want := w.connectedCSV(), fmt.Sprintf("bob;127.0.0.1;%d\n", b.sh.listenerPort()); got != want {
		t.Errorf("connected.csv after QUIT = %q, want %q", got, want)
	}
	b.do("LIST_USERS", "LIST_USERS OK", `\tbob 127\.0\.0\.1 \d+`)
	if a.sh.ListenerAddr() != "" || listening(addr1) || listening(addr2) || len(a.sh.ConnectedUsers()) != 0 {
		t.Error("QUIT left a listener open or a user connected")
	}
}

// TestCurrentUserAfterDisconnect: requests carry the most recently
// connected of the users still connected, then the last one named; each
// user's listener closes with that user (UNREGISTER included), and the end
// of input disconnects every user.
func TestCurrentUserAfterDisconnect(t *testing.T) {
	w := newWorld(t)
	a := w.client("a")
	for _, u := range []string{"u1", "u2", "u3"} {
		a.do("REGISTER "+u, "REGISTER OK")
	}
	addrs := map[string]string{}
	for _, u := range []string{"u1", "u2", "u3"} {
		a.do("CONNECT "+u, "CONNECT OK")
		addrs[u] = a.sh.ListenerAddr()
	}
	addr := addrs["u2"]
	a.do("DISCONNECT u1", "DISCONNECT OK")
	if listening(addrs["u1"]) {
		t.Error("u1's listener outlived DISCONNECT u1")
	}
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
		t.Error("u2's listener outlived UNREGISTER u2")
	}
	if a.sh.User() != "u2" || a.sh.Connected() != "" {
		t.Errorf("user %q, connected %q", a.sh.User(), a.sh.Connected())
	}

	// The end of input disconnects each user still connected.
	a.do("CONNECT u1", "CONNECT OK")
	addr1 := a.sh.ListenerAddr()
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
	if listening(addr) || listening(addr1) {
		t.Error("a listener open after the end of input")
	}
}
