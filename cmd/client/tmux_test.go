package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	waitFor(m.t, func() bool { return strings.Count(m.screen(), s) >= n }, m)
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
	cmdline := fmt.Sprintf("cd %s && %s %s; echo client exit status $?; sleep 600", dir, client, strings.Join(args, " "))
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
	time.Sleep(200 * time.Millisecond)
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
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(m.screen(), "client exit status") {
		if time.Now().After(deadline) {
			// Hung: a goroutine dump (SIGQUIT) says where.
			sh := strings.TrimSpace(m.run("display-message", "-p", "-t", "p2p", "#{pane_pid}"))
			children, _ := os.ReadFile("/proc/" + sh + "/task/" + sh + "/children")
			for _, c := range strings.Fields(string(children)) {
				if pid, err := strconv.Atoi(c); err == nil {
					syscall.Kill(pid, syscall.SIGQUIT)
				}
			}
			time.Sleep(time.Second)
			t.Fatalf("the client did not exit after QUIT:\n%s", m.run("capture-pane", "-p", "-J", "-t", "p2p", "-S", "-3000"))
		}
		time.Sleep(20 * time.Millisecond)
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
