// Package e2e runs the four built binaries as separate processes, wired as
// `make run` wires them, and checks a two-peer session end to end: the
// client lines, the central server's console, the log server's lines, the
// CSV files, the JSON files and the downloaded file.
package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"p2p/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// proc is one of the built binaries running, with the stdout lines expect
// has handed out.
type proc struct {
	*testenv.Proc
	t    *testing.T
	name string
	next int // first stdout line not yet consumed by expect
}

// start runs the command name (built once for the tests) in dir with env
// added to its environment.
func start(t *testing.T, dir string, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(testenv.Build(t, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return &proc{Proc: testenv.Start(t, cmd), t: t, name: name}
}

// send types one line on the process's stdin.
func (p *proc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.Stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: writing %q: %v", p.name, line, err)
	}
}

// expect waits for the next n unconsumed stdout lines and returns them.
func (p *proc) expect(n int) []string {
	p.t.Helper()
	p.WaitFor(20*time.Second, fmt.Sprintf("%d more lines after line %d", n, p.next), func() bool { return len(p.Stdout.Lines())-p.next >= n })
	got := p.Stdout.Lines()[p.next : p.next+n]
	p.next += n
	return got
}

var dateLine = regexp.MustCompile(`^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$`)

// command sends a client command and checks its datetime line and result
// lines (the client prints no prompt when stdin is not a terminal).
func (p *proc) command(line string, want ...string) {
	p.t.Helper()
	p.send(line)
	got := p.expect(1 + len(want))
	if !dateLine.MatchString(got[0]) {
		p.t.Errorf("%s: %q: datetime line %q", p.name, line, got[0])
	}
	for i, w := range want {
		if ok, _ := regexp.MatchString("^"+w+"$", got[i+1]); !ok {
			p.t.Errorf("%s: %q: line %d is %q, want /%s/", p.name, line, i+1, got[i+1], w)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stop sends SIGTERM and checks a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		p.t.Errorf("%s exited with %v after SIGTERM; stderr: %s", p.name, err, p.Stderr.String())
	}
}

func TestTwoPeerSession(t *testing.T) {
	root := t.TempDir()
	srvDir, aliceDir, bobDir := filepath.Join(root, "server"), filepath.Join(root, "alice"), filepath.Join(root, "bob")
	for _, d := range []string{srvDir, aliceDir, bobDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wsPort, rpcPort, srvPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)

	ws := start(t, root, nil, "ws-server", "-p", fmt.Sprint(wsPort))
	rpc := start(t, root, nil, "rpc_server", "-p", fmt.Sprint(rpcPort), "-portmap=false")
	ws.WaitListening(20*time.Second, fmt.Sprintf("127.0.0.1:%d", wsPort))
	rpc.WaitListening(20*time.Second, fmt.Sprintf("127.0.0.1:%d", rpcPort))
	srv := start(t, srvDir, []string{"LOG_RPC_IP=127.0.0.1", fmt.Sprintf("LOG_RPC_PORT=%d", rpcPort)}, "server", "-p", fmt.Sprint(srvPort))
	if got := srv.expect(1)[0]; !regexp.MustCompile(fmt.Sprintf(`^s> init server \d+\.\d+\.\d+\.\d+:%d$`, srvPort)).MatchString(got) {
		t.Fatalf("server's first line %q", got)
	}

	clientArgs := []string{"-s", "127.0.0.1", "-p", fmt.Sprint(srvPort), "-w", fmt.Sprintf("http://127.0.0.1:%d/", wsPort)}
	song := make([]byte, 5<<20+123)
	rand.Read(song)
	if err := os.WriteFile(filepath.Join(aliceDir, "song.mp3"), song, 0o644); err != nil {
		t.Fatal(err)
	}

	alice := start(t, aliceDir, nil, "client", clientArgs...)
	alice.command("REGISTER alice", "REGISTER OK")
	alice.command("register alice", "USERNAME IN USE")
	alice.command("CONNECT alice", "CONNECT OK")
	alice.command("PUBLISH song.mp3 a song I like", "PUBLISH OK")
	alice.command("PUBLISH song.mp3 again", "PUBLISH FAIL, CONTENT ALREADY PUBLISHED")

	bob := start(t, bobDir, nil, "client", clientArgs...)
	bob.command("REGISTER bob", "REGISTER OK")
	bob.command("LIST_USERS", "LIST_USERS FAIL, USER NOT CONNECTED")
	bob.command("CONNECT bob", "CONNECT OK")
	bob.command("LIST_USERS", "LIST_USERS OK", "\talice 127\\.0\\.0\\.1 \\d+", "\tbob 127\\.0\\.0\\.1 \\d+")
	bob.command("LIST_CONTENT alice", "LIST_CONTENT OK", "\tsong\\.mp3 \"a song I like\"")
	bob.command("LIST_CONTENT carol", "LIST_CONTENT FAIL, REMOTE USER DOES NOT EXIST")
	bob.command("GET_FILE alice song.mp3 copy.mp3", "GET_FILE OK")
	bob.command("GET_FILE alice nothing.txt nothing.txt", "GET_FILE FAIL, FILE DOES NOT EXIST")

	if got, err := os.ReadFile(filepath.Join(bobDir, "copy.mp3")); err != nil || !bytes.Equal(got, song) {
		t.Errorf("downloaded file differs (%d bytes, %v)", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(bobDir, "nothing.txt")); !os.IsNotExist(err) {
		t.Errorf("a failed GET_FILE left nothing.txt: %v", err)
	}

	// The files of the central server, while both are connected.
	if got := readFile(t, filepath.Join(srvDir, "users.csv")); got != "alice\nbob\n" {
		t.Errorf("users.csv = %q", got)
	}
	conn := readFile(t, filepath.Join(srvDir, "connected.csv"))
	if !regexp.MustCompile(`^alice;127\.0\.0\.1;\d+\nbob;127\.0\.0\.1;\d+\n$`).MatchString(conn) {
		t.Errorf("connected.csv = %q", conn)
	}
	if got := readFile(t, filepath.Join(srvDir, "files", "alice.csv")); got != "song.mp3;a song I like\n" {
		t.Errorf("files/alice.csv = %q", got)
	}
	if got := readFile(t, filepath.Join(srvDir, "files", "bob.csv")); got != "" {
		t.Errorf("files/bob.csv = %q", got)
	}

	// The client's JSON files.
	var users []map[string]string
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(bobDir, "listusers-bob.json"))), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0]["Username"] != "alice" || users[0]["IP address"] != "127.0.0.1" || users[1]["Username"] != "bob" ||
		!strings.Contains(conn, "alice;127.0.0.1;"+users[0]["Port"]+"\n") {
		t.Errorf("listusers-bob.json = %v (connected.csv %q)", users, conn)
	}
	var pub []map[string]string
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(aliceDir, "published-alice.json"))), &pub); err != nil {
		t.Fatal(err)
	}
	if len(pub) != 1 || pub[0]["Filename"] != "song.mp3" || pub[0]["Description"] != "a song I like" {
		t.Errorf("published-alice.json = %v", pub)
	}

	// Leaving: bob disconnects by hand, alice by end of input.
	bob.command("DISCONNECT bob", "DISCONNECT OK")
	bob.send("QUIT")
	alice.Stdin.Close()
	for _, c := range []*proc{alice, bob} {
		if err := c.Wait(20 * time.Second); err != nil {
			t.Errorf("%s exit: %v; stderr: %s", c.name, err, c.Stderr.String())
		}
	}
	if got := readFile(t, filepath.Join(srvDir, "connected.csv")); got != "" {
		t.Errorf("connected.csv after both left = %q", got)
	}
	if _, err := os.Stat(filepath.Join(srvDir, "files", "alice.csv")); !os.IsNotExist(err) {
		t.Errorf("files/alice.csv after alice left: %v", err)
	}

	// The console and the log server saw every parsed request, in order.
	wantOps := []string{
		"alice REGISTER", "alice REGISTER", "alice CONNECT", "alice PUBLISH song.mp3", "alice PUBLISH song.mp3",
		"bob REGISTER", "bob LIST_USERS", "bob CONNECT", "bob LIST_USERS", "bob LIST_CONTENT", "bob LIST_CONTENT",
		"bob DISCONNECT", "alice DISCONNECT",
	}
	console := srv.expect(len(wantOps))
	logged := rpc.expect(len(wantOps))
	logLine := regexp.MustCompile(`^(\S+) (\S+)(?: (.*))? (\d\d/\d\d/\d{4} \d\d:\d\d:\d\d)$`)
	for i, w := range wantOps {
		user := strings.Fields(w)[0]
		if console[i] != "s> OPERATION FROM "+user {
			t.Errorf("console line %d = %q, want %q", i, console[i], "s> OPERATION FROM "+user)
		}
		m := logLine.FindStringSubmatch(logged[i])
		if m == nil || strings.TrimSpace(strings.Join(m[1:4], " ")) != w {
			t.Errorf("log line %d = %q, want %q <datetime>", i, logged[i], w)
		}
	}
	srv.stop()
	rpc.stop()
	ws.stop()
}
