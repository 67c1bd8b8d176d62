package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
func startClient(t *testing.T, bin string, args []string, dir, user, peerAddr string) *testenv.Proc {
	t.Helper()
	host, port, _ := net.SplitHostPort(peerAddr)
	list := fmt.Sprintf(`[{"Username": "alice", "IP address": %q, "Port": %q}]`, host, port)
	os.WriteFile(filepath.Join(dir, "listusers-"+user+".json"), []byte(list), 0o644)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	p := testenv.Start(t, cmd)
	fmt.Fprintln(p.Stdin, "REGISTER "+user)
	p.WaitFor(30*time.Second, "REGISTER OK", func() bool { return strings.Contains(p.Stdout.String(), "REGISTER OK") })
	return p
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
	live := startClient(t, bin, args, dir, "live", peerAddr)
	fmt.Fprintln(live.Stdin, "GET_FILE alice big.bin live.bin")
	live.WaitFor(30*time.Second, "its temporary file", func() bool { return len(tempFiles(t, dir)) == 1 })
	liveTemp := tempFiles(t, dir)[0]

	killed := startClient(t, bin, args, dir, "killed", peerAddr)
	fmt.Fprintln(killed.Stdin, "GET_FILE alice big.bin copy.bin")
	killed.WaitFor(30*time.Second, "a second temporary file", func() bool { return len(tempFiles(t, dir)) == 2 })
	killed.Kill()
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
