package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"p2p/internal/peer"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// tmux drives one client in a pseudo-terminal through a private tmux
// server.
type tmux struct {
	t      *testing.T
	bin    string
	socket string
}

func (m *tmux) run(args ...string) string {
	m.t.Helper()
	out, err := exec.Command(m.bin, append([]string{"-S", m.socket}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

func (m *tmux) keys(keys ...string) { m.run(append([]string{"send-keys", "-t", "p2p"}, keys...)...) }

// typeLine types text literally (no key names), then Enter.
func (m *tmux) typeLine(text string) {
	m.run("send-keys", "-t", "p2p", "-l", text)
	m.keys("Enter")
}

func (m *tmux) screen() string { return m.run("capture-pane", "-p", "-J", "-t", "p2p", "-S", "-200") }

func (m *tmux) String() string { return m.screen() }

// waitCount waits until s appears at least n times on the screen.
func (m *tmux) waitCount(s string, n int) {
	m.t.Helper()
	m.until(fmt.Sprintf("%d× %q", n, s), func() bool { return strings.Count(m.screen(), s) >= n })
}

// until waits up to 30 s for cond, failing the test with the screen.
func (m *tmux) until(what string, cond func() bool) {
	m.t.Helper()
	if !testenv.Poll(30*time.Second, cond) {
		m.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, m.screen())
	}
}

// TestTerminalSession runs the client (built with -race) in a tmux pane:
// the "c> " prompt, line editing, history, tab completion, a listener
// message arriving while the prompt is up, and QUIT.
func TestTerminalSession(t *testing.T) {
	m := &tmux{t: t, bin: testenv.LookPath(t, "tmux"), socket: filepath.Join(t.TempDir(), "tmux.sock")}
	client := buildClient(t, true)
	args, srvDir := services(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "song.mp3"), []byte("la la la"), 0o644)

	// The shell, not tmux, reports the exit status: tmux may be slow to
	// reap a pane's process.
	cmdline := fmt.Sprintf("cd %s && %s %s -history %s; echo client exit status $?; sleep 600", dir, client, strings.Join(args, " "), filepath.Join(t.TempDir(), "history"))
	m.run("-f", "/dev/null", "new-session", "-d", "-s", "p2p", "-x", "200", "-y", "50", cmdline)
	t.Cleanup(func() { exec.Command(m.bin, "-S", m.socket, "kill-server").Run() })

	m.waitCount("c> ", 1)
	// Line editing: a typo mended with BSpace, a word inserted after C-a.
	m.run("send-keys", "-t", "p2p", "-l", "REGISTER alicx")
	m.keys("BSpace", "e", "Enter")
	m.waitCount("REGISTER OK", 1)
	// History: Up brings "REGISTER alice" back.
	m.keys("Up", "Enter")
	m.waitCount("USERNAME IN USE", 1)
	m.run("send-keys", "-t", "p2p", "-l", "NNECT alice")
	m.keys("C-a", "C", "O", "Enter")
	m.waitCount("CONNECT OK", 1)
	m.typeLine("PUBLISH song.mp3 a song I like")
	m.waitCount("PUBLISH OK", 1)
	// Tab completion of the command word.
	m.run("send-keys", "-t", "p2p", "-l", "LIST_U")
	m.keys("Tab", "Enter")
	m.waitCount("LIST_USERS OK", 1)

	// Another peer downloads while the prompt waits: the listener's line
	// is written through the editor, and the prompt comes back below it.
	conn, _ := os.ReadFile(filepath.Join(srvDir, "connected.csv"))
	fields := strings.Split(strings.TrimSpace(string(conn)), ";")
	if len(fields) != 3 {
		t.Fatalf("connected.csv = %q", conn)
	}
	m.run("send-keys", "-t", "p2p", "-l", "LIST_CONT")
	m.waitCount("c> LIST_CONT", 1) // in the editor when the message comes
	local := filepath.Join(t.TempDir(), "copy.mp3")
	res, err := peer.Download(context.Background(), fields[1]+":"+fields[2], "song.mp3", local, peer.DownloadConfig{})
	if err != nil || res.Outcome != wire.OK {
		t.Fatalf("download from the terminal client: %+v %v", res, err)
	}
	m.waitCount(`peer: sent "song.mp3"`, 1)
	// The half-typed line survived the message: finish it.
	m.run("send-keys", "-t", "p2p", "-l", "ENT alice")
	m.keys("Enter")
	m.waitCount(`song.mp3 "a song I like"`, 1)

	m.typeLine("quit")
	if !testenv.Poll(30*time.Second, func() bool { return strings.Contains(m.screen(), "client exit status") }) {
		// Hung: a goroutine dump (SIGQUIT) says where.
		sh := strings.TrimSpace(m.run("display-message", "-p", "-t", "p2p", "#{pane_pid}"))
		children, _ := os.ReadFile("/proc/" + sh + "/task/" + sh + "/children")
		for _, c := range strings.Fields(string(children)) {
			if pid, err := strconv.Atoi(c); err == nil {
				syscall.Kill(pid, syscall.SIGQUIT)
			}
		}
		time.Sleep(time.Second) // not polling: the dump takes a moment to reach the pane
		t.Fatalf("the client did not exit after QUIT:\n%s", m.run("capture-pane", "-p", "-J", "-t", "p2p", "-S", "-3000"))
	}
	screen := m.screen()
	if !strings.Contains(screen, "client exit status 0\n") {
		t.Errorf("client exit status not 0:\n%s", screen)
	}
	if strings.Contains(screen, "DATA RACE") {
		t.Errorf("race detected:\n%s", screen)
	}
	if !strings.Contains(screen, "DISCONNECT OK") {
		t.Errorf("QUIT did not disconnect:\n%s", screen)
	}
	for _, want := range []string{"c> REGISTER alice\n", "c> CONNECT alice\n", "c> LIST_USERS \n", "c> LIST_CONTENT alice\n"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	t.Logf("screen:\n%s", screen)
}

// drippingPeer answers GET_FILE_SIZED with '0', a size of 1 GiB, then 1 KiB
// every 20 ms: a transfer that moves (no idle deadline cuts it) and would
// hold the prompt for hours. started is closed once bytes flow.
func drippingPeer(t *testing.T) (addr string, started <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	addr = testenv.Serve(t, func(c net.Conn) {
		if _, _, err := wire.ReadPeerRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write(wire.AppendSize([]byte("0"), 1<<30))
		for {
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(make([]byte, 1024)); err != nil {
				return
			}
			once.Do(func() { close(ch) })
			time.Sleep(20 * time.Millisecond)
		}
	})
	return addr, ch
}

// TestCtrlCCancelsDownload: in a terminal, Ctrl-C during a download that
// would hold the prompt for hours cancels that download (GET_FILE FAIL, no
// partial file, the old file untouched) and gives the prompt back; the
// session goes on. Ctrl-C at the prompt still just drops the typed line.
func TestCtrlCCancelsDownload(t *testing.T) {
	m := &tmux{t: t, bin: testenv.LookPath(t, "tmux"), socket: filepath.Join(t.TempDir(), "tmux.sock")}
	client := buildClient(t, true)
	args, _ := services(t)
	peerAddr, started := drippingPeer(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "copy.bin"), []byte("the old content"), 0o644)
	host, port, _ := net.SplitHostPort(peerAddr)
	os.WriteFile(filepath.Join(dir, "listusers-carol.json"), []byte(fmt.Sprintf(`[{"Username": "alice", "IP address": %q, "Port": %q}]`, host, port)), 0o644)

	cmdline := fmt.Sprintf("cd %s && %s %s -history %s; echo client exit status $?; sleep 600", dir, client, strings.Join(args, " "), filepath.Join(t.TempDir(), "history"))
	m.run("-f", "/dev/null", "new-session", "-d", "-s", "p2p", "-x", "200", "-y", "50", cmdline)
	t.Cleanup(func() { exec.Command(m.bin, "-S", m.socket, "kill-server").Run() })

	m.waitCount("c> ", 1)
	m.typeLine("REGISTER carol")
	m.waitCount("REGISTER OK", 1)
	// Ctrl-C at the prompt drops the line being typed.
	m.run("send-keys", "-t", "p2p", "-l", "LIST_USERS")
	m.keys("C-c")
	m.waitCount("c> ", 3)
	m.typeLine("GET_FILE alice big.bin copy.bin")
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatalf("the download did not start:\n%s", m)
	}
	m.until("the temporary file", func() bool { return len(tempFiles(t, dir)) == 1 })
	m.keys("C-c")
	m.waitCount("GET_FILE FAIL", 1)
	m.waitCount("c> ", 4)
	if s := m.screen(); strings.Contains(s, "client exit status") || strings.Contains(s, "DISCONNECT") {
		t.Fatalf("Ctrl-C ended the session:\n%s", s)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "copy.bin")); string(got) != "the old content" {
		t.Errorf("copy.bin = %.40q", got)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("left behind: %q", tmp)
	}
	// The session goes on.
	m.typeLine("REGISTER dave")
	m.waitCount("REGISTER OK", 2)
	m.typeLine("QUIT")
	m.waitCount("client exit status", 1)
	screen := m.screen()
	if !strings.Contains(screen, "client exit status 0\n") || strings.Contains(screen, "DATA RACE") {
		t.Errorf("exit:\n%s", screen)
	}
	if strings.Contains(screen, "LIST_USERS OK") {
		t.Errorf("the line dropped by Ctrl-C ran:\n%s", screen)
	}
	t.Logf("screen:\n%s", strings.TrimSpace(screen))
}

// slowPeer answers GET_FILE_SIZED for any name with '0', size, then the
// bytes ('x') in chunks of chunk bytes every interval, and closes: a
// download that lasts about size/chunk*interval.
func slowPeer(t *testing.T, size, chunk int, interval time.Duration) (port string) {
	t.Helper()
	addr := testenv.Serve(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(time.Minute))
		op, _, err := wire.ReadPeerRequest(bufio.NewReader(c))
		if err != nil || op != wire.GetFileSized {
			c.Write([]byte("2"))
			return
		}
		c.Write(wire.AppendSize([]byte("0"), uint64(size)))
		for sent := 0; sent < size; sent += chunk {
			if _, err := c.Write([]byte(strings.Repeat("x", min(chunk, size-sent)))); err != nil {
				return
			}
			time.Sleep(interval)
		}
	})
	_, port, _ = net.SplitHostPort(addr)
	return port
}

// progressShown matches the progress line of a sized download.
var progressShown = regexp.MustCompile(`(?m)^ ?\d+%  [0-9.]+ [KM]?i?B of 256\.0 KiB  [0-9.]+ [KM]?i?B/s  \d+s left`)

// TestTerminalSearchCompletionHistory: in a terminal, SEARCH finds a file
// of another user; Tab completes that user's name and the file's name
// (from the user list and the SEARCH answer); the download shows its
// progress line on the way and erases it at the end; a second session
// with the same history file recalls the first one's commands with Up.
func TestTerminalSearchCompletionHistory(t *testing.T) {
	m := &tmux{t: t, bin: testenv.LookPath(t, "tmux"), socket: filepath.Join(t.TempDir(), "tmux.sock")}
	client := buildClient(t, true)
	args, _ := services(t)
	server := net.JoinHostPort(args[1], args[3])

	// carol is a peer of the directory that serves slowly (256 KiB in
	// about 2.5 s), registered and connected by hand with its port.
	port := slowPeer(t, 256<<10, 4<<10, 40*time.Millisecond)
	var wc wire.Client
	for _, req := range []wire.Request{
		{Op: wire.Register, Username: "carol"},
		{Op: wire.Connect, Username: "carol", Port: port},
		{Op: wire.Publish, Username: "carol", Filename: "notes.txt", Description: "nothing big"},
		{Op: wire.Publish, Username: "carol", Filename: "big.bin", Description: "a big file of carol"},
	} {
		req.DateTime = "01/12/2026 10:00:00"
		if st, err := wc.Do(context.Background(), server, req, nil); err != nil || st != wire.StatusOK {
			t.Fatalf("%s: %v %v", req.Op, st, err)
		}
	}

	dir := t.TempDir()
	history := filepath.Join(t.TempDir(), "history")
	cmdline := fmt.Sprintf("cd %s && %s %s -history %s; echo client exit status $?; sleep 600", dir, client, strings.Join(args, " "), history)
	start := func() {
		m.run("-f", "/dev/null", "new-session", "-d", "-s", "p2p", "-x", "200", "-y", "50", cmdline)
		m.waitCount("c> ", 1)
	}
	exit := func() {
		m.t.Helper()
		m.typeLine("QUIT")
		m.waitCount("client exit status", 1)
		if s := m.screen(); !strings.Contains(s, "client exit status 0\n") || strings.Contains(s, "DATA RACE") {
			t.Fatalf("exit:\n%s", s)
		}
	}
	start()
	t.Cleanup(func() { exec.Command(m.bin, "-S", m.socket, "kill-server").Run() })

	m.typeLine("REGISTER alice")
	m.waitCount("REGISTER OK", 1)
	m.typeLine("CONNECT alice")
	m.waitCount("CONNECT OK", 1)
	m.typeLine("LIST_USERS")
	m.waitCount("LIST_USERS OK", 1)
	m.typeLine("SEARCH Big  FILE")
	m.waitCount("SEARCH OK", 1)
	m.waitCount(`carol big.bin "a big file of carol"`, 1)
	if strings.Contains(m.screen(), "notes.txt") {
		t.Errorf("SEARCH showed a file that does not match:\n%s", m)
	}

	// Tab completes the username (from LIST_USERS), then the remote
	// file name (from SEARCH); the local name is typed.
	m.run("send-keys", "-t", "p2p", "-l", "GET_FILE ca")
	m.keys("Tab")
	m.waitCount("c> GET_FILE carol", 1)
	m.run("send-keys", "-t", "p2p", "-l", "b")
	m.keys("Tab")
	m.waitCount("c> GET_FILE carol big.bin", 1)
	m.run("send-keys", "-t", "p2p", "-l", "copy.bin")
	m.keys("Enter")
	// The progress line, on the way...
	var seen string
	m.until("the progress line", func() bool { seen = progressShown.FindString(m.screen()); return seen != "" })
	t.Logf("progress line seen: %q", seen)
	m.waitCount("GET_FILE OK", 1)
	// ...and gone at the end.
	screen := m.screen()
	if progressShown.MatchString(screen) || strings.Contains(screen, " left") {
		t.Errorf("the progress line is still on the screen:\n%s", screen)
	}
	if st, err := os.Stat(filepath.Join(dir, "copy.bin")); err != nil || st.Size() != 256<<10 {
		t.Errorf("copy.bin: %v", err)
	}
	t.Logf("first session:\n%s", strings.TrimSpace(screen))
	exit()

	hist, err := os.ReadFile(history)
	if err != nil || !strings.Contains(string(hist), "SEARCH Big  FILE\nGET_FILE carol big.bin copy.bin\nQUIT\n") {
		t.Errorf("history file: %q %v", hist, err)
	}
	if st, _ := os.Stat(history); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("history file mode: %v", st)
	}

	// A second session with the same history file: Up recalls the
	// first one's lines, the last first.
	m.run("kill-session", "-t", "p2p")
	start()
	m.keys("Up")
	m.waitCount("c> QUIT", 1)
	m.keys("Up")
	m.waitCount("c> GET_FILE carol big.bin copy.bin", 1)
	m.keys("Up", "Enter")
	m.waitCount("c> SEARCH Big  FILE", 1)
	m.waitCount("SEARCH FAIL", 1) // no user named in this session
	t.Logf("second session:\n%s", strings.TrimSpace(m.screen()))
	exit()
}
