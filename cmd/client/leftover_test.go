package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// stallingPeer answers every GET_FILE_SIZED with '0', a size of 1 GiB and
// 100 KiB of it, then sends nothing more until the test ends. It returns
// its address.
func stallingPeer(t *testing.T) string {
	t.Helper()
	done := make(chan struct{})
	addr := testenv.Serve(t, func(c net.Conn) {
		if _, _, err := wire.ReadPeerRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write(wire.AppendSize([]byte("0"), 1<<30))
		c.Write(make([]byte, 100<<10))
		<-done
	})
	t.Cleanup(func() { close(done) })
	return addr
}

// startClient starts the client binary in dir as user (REGISTER, which the
// real central server answers), with a listusers file naming alice at
// peerAddr.
func startClient(t *testing.T, bin string, args []string, dir, user, peerAddr string) (*exec.Cmd, io.WriteCloser, *testenv.Buffer) {
	t.Helper()
	host, port, _ := net.SplitHostPort(peerAddr)
	list := fmt.Sprintf(`[{"Username": "alice", "IP address": %q, "Port": %q}]`, host, port)
	os.WriteFile(filepath.Join(dir, "listusers-"+user+".json"), []byte(list), 0o644)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stdin, _ := cmd.StdinPipe()
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	fmt.Fprintln(stdin, "REGISTER "+user)
	waitFor(t, func() bool { return strings.Contains(out.String(), "REGISTER OK") }, out)
	return cmd, stdin, out
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".*.p2p-tmp"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// TestKilledDownloadLeftoverRemoved: a client SIGKILLed mid-download leaves
// its temporary file; the next client started in that folder removes it,
// and leaves alone the one of a client still downloading there.
func TestKilledDownloadLeftoverRemoved(t *testing.T) {
	bin := buildClient(t, false)
	args, _ := services(t)
	peerAddr := stallingPeer(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "copy.bin"), []byte("the old content"), 0o644)

	// live downloads and stays; killed downloads and is killed.
	_, liveIn, _ := startClient(t, bin, args, dir, "live", peerAddr)
	fmt.Fprintln(liveIn, "GET_FILE alice big.bin live.bin")
	waitFor(t, func() bool { return len(tempFiles(t, dir)) == 1 }, stringer(func() string { return fmt.Sprint(tempFiles(t, dir)) }))
	liveTemp := tempFiles(t, dir)[0]

	killed, killedIn, _ := startClient(t, bin, args, dir, "killed", peerAddr)
	fmt.Fprintln(killedIn, "GET_FILE alice big.bin copy.bin")
	waitFor(t, func() bool { return len(tempFiles(t, dir)) == 2 }, stringer(func() string { return fmt.Sprint(tempFiles(t, dir)) }))
	killed.Process.Signal(syscall.SIGKILL)
	killed.Wait()
	if n := len(tempFiles(t, dir)); n != 2 {
		t.Fatalf("%d temporary files after the kill", n)
	}

	// A new client in the folder: the dead one's file goes, the live
	// one's stays.
	next := exec.Command(bin, args...)
	next.Dir = dir
	next.Stdin = strings.NewReader("")
	out, err := next.CombinedOutput()
	if err != nil {
		t.Fatalf("next client: %v: %s", err, out)
	}
	if got := tempFiles(t, dir); len(got) != 1 || got[0] != liveTemp {
		t.Errorf("temporary files %q, want only the live client's %q; the client said: %s", got, liveTemp, out)
	}
	if !strings.Contains(string(out), "left by a client that ended mid-write") {
		t.Errorf("the client said nothing of what it removed: %s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "copy.bin")); string(got) != "the old content" {
		t.Errorf("copy.bin = %q", got)
	}
}

type stringer func() string

func (s stringer) String() string { return s() }
