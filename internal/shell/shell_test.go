package shell

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"p2p/internal/datetime"
	"p2p/internal/wire"
)

// TestPruebas walks the states of the report's "Pruebas" table with two
// peers: every result line of §2/§3, each after its datetime line.
func TestPruebas(t *testing.T) {
	w := newWorld(t)
	a := w.client("alice")
	b := w.client("bob")

	// register
	a.do("REGISTER alice", "REGISTER OK")
	a.do("register alice", "USERNAME IN USE")
	// An unsafe name is the server's to refuse (§4: its last code); the
	// client sends it like any other (§7 refuses only >255-byte fields).
	a.do("REGISTER a/b", "REGISTER FAIL")
	// unregister
	a.do("UNREGISTER nobody", "USERNAME DOES NOT EXIST")
	a.do("UNREGISTER a/b", "UNREGISTER FAIL")
	// connect
	b.do("CONNECT bob", "CONNECT FAIL, USER DOES NOT EXIST")
	b.do("CONNECT a/b", "CONNECT FAIL")
	if b.sh.ListenerAddr() != "" {
		t.Error("a failed CONNECT left the listener open")
	}
	b.do("REGISTER bob", "REGISTER OK")
	a.do("CONNECT alice", "CONNECT OK")
	a.do("CONNECT alice", "CONNECT FAIL, USER ALREADY CONNECTED")
	if a.sh.ListenerAddr() == "" {
		t.Fatal("CONNECT OK without a listener")
	}
	if got := a.file("published-alice.json"); got != "[]\n" {
		t.Errorf("published-alice.json after CONNECT = %q", got)
	}
	// disconnect
	b.do("DISCONNECT nobody", "DISCONNECT FAIL, USER DOES NOT EXIST")
	b.do("DISCONNECT bob", "DISCONNECT FAIL, USER NOT CONNECTED")
	b.do("DISCONNECT a/b", "DISCONNECT FAIL")
	// publish: requests carry the last user named when none is connected.
	b.do("UNREGISTER ghost", "USERNAME DOES NOT EXIST")
	b.do("PUBLISH f.txt x", "PUBLISH FAIL, USER DOES NOT EXIST")
	b.do("REGISTER bob", "USERNAME IN USE")
	b.do("PUBLISH f.txt x", "PUBLISH FAIL, USER NOT CONNECTED")
	a.write("song.mp3", []byte("la la la"))
	a.do("PUBLISH song.mp3 a song I like", "PUBLISH OK")
	a.do("PUBLISH song.mp3 again", "PUBLISH FAIL, CONTENT ALREADY PUBLISHED")
	a.do("PUBLISH notes.txt   two  spaces ; and \"quotes\"  ", "PUBLISH OK")
	a.do("PUBLISH gone.txt never written", "PUBLISH OK")
	if got := a.file("published-alice.json"); got != `[{"Filename": "song.mp3", "Description": "a song I like"}, {"Filename": "notes.txt", "Description": "two  spaces ; and \"quotes\""}, {"Filename": "gone.txt", "Description": "never written"}]`+"\n" {
		t.Errorf("published-alice.json = %s", got)
	}
	// delete
	b.do("DELETE f.txt", "DELETE FAIL, USER NOT CONNECTED")
	b.do("UNREGISTER ghost", "USERNAME DOES NOT EXIST")
	b.do("DELETE f.txt", "DELETE FAIL, USER DOES NOT EXIST")
	a.do("DELETE nothing.txt", "DELETE FAIL, CONTENT NOT PUBLISHED")
	a.do("PUBLISH extra.txt x", "PUBLISH OK")
	a.do("DELETE extra.txt", "DELETE OK")
	var pub []map[string]string
	if err := json.Unmarshal([]byte(a.file("published-alice.json")), &pub); err != nil || len(pub) != 3 || pub[2]["Filename"] != "gone.txt" {
		t.Errorf("published-alice.json after DELETE: %v %v", pub, err)
	}
	// list_users and list_content
	b.do("LIST_USERS", "LIST_USERS FAIL, USER DOES NOT EXIST") // still "ghost"
	b.do("REGISTER bob", "USERNAME IN USE")
	b.do("LIST_USERS", "LIST_USERS FAIL, USER NOT CONNECTED")
	b.do("LIST_CONTENT alice", "LIST_CONTENT FAIL, USER NOT CONNECTED")
	b.do("CONNECT bob", "CONNECT OK")
	b.do("LIST_CONTENT carol", "LIST_CONTENT FAIL, REMOTE USER DOES NOT EXIST")
	b.do("LIST_CONTENT alice", "LIST_CONTENT OK",
		"\tsong.mp3 \"a song I like\"", q("\tnotes.txt \"two  spaces ; and \"quotes\"\""), "\tgone.txt \"never written\"")
	b.do("LIST_CONTENT bob", "LIST_CONTENT OK")
	b.do("list_users", "LIST_USERS OK", `\talice 127\.0\.0\.1 \d+`, `\tbob 127\.0\.0\.1 \d+`)
	users := b.file("listusers-bob.json")
	ap, bp := a.sh.listenerPort(), b.sh.listenerPort()
	if want := fmt.Sprintf(`[{"Username": "alice", "IP address": "127.0.0.1", "Port": "%d"}, {"Username": "bob", "IP address": "127.0.0.1", "Port": "%d"}]`+"\n", ap, bp); users != want {
		t.Errorf("listusers-bob.json = %s, want %s", users, want)
	}
	// get_file
	b.do("GET_FILE alice song.mp3 copy.mp3", "GET_FILE OK")
	if got := b.file("copy.mp3"); got != "la la la" {
		t.Errorf("copy.mp3 = %q", got)
	}
	b.do("GET_FILE alice secret.txt secret.txt", "GET_FILE FAIL, FILE DOES NOT EXIST")
	b.do("GET_FILE alice gone.txt gone.txt", "GET_FILE FAIL, FILE DOES NOT EXIST")
	if b.exists("secret.txt") || b.exists("gone.txt") {
		t.Error("a failed GET_FILE created a file")
	}
	b.do("GET_FILE carol x y", "GET_FILE FAIL")
	// The "Errores" rows: a user name the server refuses. Requests then
	// carry it (the last one named), and the server answers its last code.
	b.do("DISCONNECT bob", "DISCONNECT OK")
	b.do("REGISTER bad/name", "REGISTER FAIL")
	for _, l := range []string{"PUBLISH x y", "DELETE x", "LIST_USERS", "LIST_CONTENT alice"} {
		op := strings.Fields(l)[0]
		b.do(l, q(op+" FAIL"))
	}
	if b.sh.ListenerAddr() != "" {
		t.Error("DISCONNECT left the listener open")
	}
	// unregister of the connected user closes its listener.
	addr := a.sh.ListenerAddr()
	a.do("UNREGISTER alice", "UNREGISTER OK")
	if a.sh.ListenerAddr() != "" || a.sh.Connected() != "" {
		t.Error("UNREGISTER of the connected user left it connected")
	}
	if c, err := net.Dial("tcp4", addr); err == nil {
		c.Close()
		t.Error("the listener still accepts after UNREGISTER")
	}
}

func TestThreePeers(t *testing.T) {
	w := newWorld(t)
	peers := []*client{w.client("alice"), w.client("bob"), w.client("carol")}
	data := map[string][]byte{}
	for _, p := range peers {
		p.do("REGISTER "+p.name, "REGISTER OK")
		p.do("CONNECT "+p.name, "CONNECT OK")
		d := make([]byte, 100_000)
		rand.Read(d)
		data[p.name] = d
		p.write(p.name+".bin", d)
		p.do("PUBLISH "+p.name+".bin data of "+p.name, "PUBLISH OK")
	}
	for _, p := range peers {
		p.do("LIST_USERS", "LIST_USERS OK", `\talice 127\.0\.0\.1 \d+`, `\tbob 127\.0\.0\.1 \d+`, `\tcarol 127\.0\.0\.1 \d+`)
		for _, o := range peers {
			p.do("LIST_CONTENT "+o.name, "LIST_CONTENT OK", q("\t"+o.name+".bin \"data of "+o.name+"\""))
			p.do(fmt.Sprintf("GET_FILE %s %s.bin from-%s", o.name, o.name, o.name), "GET_FILE OK")
			if got := p.file("from-" + o.name); !bytes.Equal([]byte(got), data[o.name]) {
				t.Errorf("%s from %s differs", p.name, o.name)
			}
		}
	}
	for _, p := range peers {
		p.do("QUIT", "DISCONNECT OK")
	}
	if got, _ := os.ReadFile(filepath.Join(w.srvDir, "connected.csv")); len(got) != 0 {
		t.Errorf("connected.csv after QUIT = %q", got)
	}
}

// TestGetFileRefresh: the serving peer reconnects on a new port; the
// downloader's list is stale (refused), or lacks the user: one LIST_USERS
// of its own, then the download works.
func TestGetFileRefresh(t *testing.T) {
	w := newWorld(t)
	a, b := w.client("alice"), w.client("bob")
	for _, p := range []*client{a, b} {
		p.do("REGISTER "+p.name, "REGISTER OK")
		p.do("CONNECT "+p.name, "CONNECT OK")
	}
	a.write("f.txt", []byte("first"))
	a.do("PUBLISH f.txt x", "PUBLISH OK")
	// No listusers-bob.json at all yet.
	before := strings.Count(w.console.String(), "\n")
	b.do("GET_FILE alice f.txt 1.txt", "GET_FILE OK")
	if got := strings.Count(w.console.String(), "\n") - before; got != 1 {
		t.Errorf("the refresh made %d requests, want 1 LIST_USERS", got)
	}
	if b.file("1.txt") != "first" || !b.exists("listusers-bob.json") {
		t.Fatal("download after a refresh")
	}
	old := a.sh.ListenerAddr()
	// Reconnect until the new listener has another port (the kernel
	// rarely hands the same one back at once); nothing listens at the old.
	for i := 0; a.sh.ListenerAddr() == old; i++ {
		if i == 5 {
			t.Fatal("the listener keeps getting the same port")
		}
		a.do("DISCONNECT alice", "DISCONNECT OK")
		a.do("CONNECT alice", "CONNECT OK")
	}
	a.do("PUBLISH f.txt x", "PUBLISH OK")
	b.do("GET_FILE alice f.txt 2.txt", "GET_FILE OK")
	if b.file("2.txt") != "first" {
		t.Error("download after the peer moved")
	}
	if !strings.Contains(b.err.String(), "refused") {
		t.Errorf("stderr does not say why it refreshed: %s", b.err.String())
	}
	// A user that is not connected at all: refresh, then GET_FILE FAIL.
	b.do("GET_FILE carol f.txt 3.txt", "GET_FILE FAIL")
	if b.exists("3.txt") {
		t.Error("3.txt created")
	}
}

func TestWebServiceDown(t *testing.T) {
	w := newWorld(t)
	ok := w.client("ok")
	ok.do("REGISTER alice", "REGISTER OK")
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close()
	c := w.clientWith("down", datetime.NewClient(dead))
	seen := w.console.String()
	for _, l := range []string{"REGISTER bob", "UNREGISTER alice", "CONNECT alice", "DISCONNECT alice", "PUBLISH f d", "DELETE f", "LIST_USERS", "LIST_CONTENT alice", "GET_FILE alice f g"} {
		op := strings.Fields(l)[0]
		c.doExactly(l, op+" FAIL")
	}
	if w.console.String() != seen {
		t.Errorf("the central server saw requests: %q", strings.TrimPrefix(w.console.String(), seen))
	}
	if c.sh.ListenerAddr() != "" {
		t.Error("listener open after a CONNECT that sent nothing")
	}
	if !strings.Contains(c.err.String(), "REGISTER: ") {
		t.Errorf("no reason on stderr: %q", c.err.String())
	}
}

func TestClientSideChecks(t *testing.T) {
	w := newWorld(t)
	c := w.client("c")
	seen := w.console.String()
	long := strings.Repeat("x", 256)
	c.doExactly("REGISTER "+long, "REGISTER FAIL")
	c.doExactly("PUBLISH f "+long, "PUBLISH FAIL")
	c.doExactly("GET_FILE u "+long+" x", "GET_FILE FAIL")
	c.doExactly("LIST_CONTENT "+long, "LIST_CONTENT FAIL")
	// Wrong argument counts and unknown commands: usage on stderr only.
	for _, l := range []string{"REGISTER", "REGISTER a b", "PUBLISH onlyname", "LIST_USERS x", "GET_FILE a b", "FROB x", "   "} {
		c.doExactly(l)
	}
	if e := c.err.String(); !strings.Contains(e, "usage: PUBLISH <filename> <description, the rest of the line>") || !strings.Contains(e, "unknown command \"FROB\"") {
		t.Errorf("stderr: %s", e)
	}
	c.doExactly("help")
	if !strings.Contains(c.err.String(), "GET_FILE <username> <remote_filename> <local_filename>") {
		t.Error("HELP lists no GET_FILE")
	}
	if w.console.String() != seen {
		t.Errorf("the central server saw requests: %q", w.console.String())
	}
	// A username the directory's rule refuses but that fits its field
	// (252 bytes, "/") is sent: the server refuses it (§4, §7).
	c.do("REGISTER "+strings.Repeat("y", 252), "REGISTER FAIL")
	c.do("CONNECT a/b", "CONNECT FAIL")
	c.do("REGISTER "+strings.Repeat("y", 251), "REGISTER OK")
}

func TestQuitAndEndOfInputDisconnect(t *testing.T) {
	w := newWorld(t)
	a, b := w.client("alice"), w.client("bob")
	a.do("REGISTER alice", "REGISTER OK")
	b.do("REGISTER bob", "REGISTER OK")
	// bob: through RunPipe, ended by the end of input.
	in := strings.NewReader("CONNECT bob\r\nLIST_USERS\n")
	if err := b.sh.RunPipe(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got := b.newLines()
	if len(got) != 7 || got[1] != "CONNECT OK" || got[3] != "LIST_USERS OK" || got[6] != "DISCONNECT OK" {
		t.Errorf("pipe session printed %q", got)
	}
	if strings.Contains(b.out.String(), "c> ") || strings.Contains(b.out.String(), "\x1b") {
		t.Errorf("prompt or escape codes on a pipe: %q", b.out.String())
	}
	// alice: QUIT.
	a.do("CONNECT alice", "CONNECT OK")
	if !a.sh.Exec(context.Background(), "quit") {
		t.Error("QUIT did not ask to exit")
	}
	if got := a.newLines(); len(got) != 2 || got[1] != "DISCONNECT OK" {
		t.Errorf("QUIT printed %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(w.srvDir, "connected.csv")); len(got) != 0 {
		t.Errorf("connected.csv = %q", got)
	}
	// QUIT of a client not connected prints nothing.
	a.doExactly("QUIT")
}

func TestCommandParsing(t *testing.T) {
	cases := []struct {
		line string
		op   wire.Op
		args []string
	}{
		{"register Alice", wire.Register, []string{"Alice"}},
		{"  PUBLISH\tf.txt   a  b\t c  ", wire.Publish, []string{"f.txt", "a  b\t c"}},
		{"Get_File u r l", wire.GetFile, []string{"u", "r", "l"}},
		{"LIST_USERS", wire.ListUsers, nil},
	}
	for _, c := range cases {
		cmd, args, err := split(c.line)
		if err != nil || cmd.name != c.op || strings.Join(args, "|") != strings.Join(c.args, "|") {
			t.Errorf("%q: %v %q %v", c.line, cmd.name, args, err)
		}
	}
}

func TestCompleter(t *testing.T) {
	for typed, want := range map[string]string{"LIST_": "USERS |CONTENT ", "get": "_file ", "Q": "UIT ", "REGISTER a": ""} {
		got, _ := completer{}.Do([]rune(typed), len([]rune(typed)))
		var s []string
		for _, g := range got {
			s = append(s, string(g))
		}
		if strings.Join(s, "|") != want {
			t.Errorf("%q completes to %q, want %q", typed, s, want)
		}
	}
}
