package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// HAProxy runs haproxy in the foreground with the repository's
// scripts/haproxy.cfg (the file `make cluster` uses), listening on front
// and balancing over server1 and server2 (host:port each). It returns
// the running command (for its CPU time) once front accepts connections,
// and stops haproxy when t ends. Without haproxy installed the test is
// Unavailable.
func HAProxy(t testing.TB, front, server1, server2 string) *exec.Cmd {
	t.Helper()
	bin := LookPath(t, "haproxy")
	cfg := filepath.Join(RepoRoot(), "scripts", "haproxy.cfg")
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Env = append(os.Environ(), "P2P_FRONT="+front, "P2P_SERVER1="+server1, "P2P_SERVER2="+server2)
	var out Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting haproxy: %v", err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp4", front, time.Second)
		if err == nil {
			c.Close()
			return cmd
		}
		select {
		case <-done:
			t.Fatalf("haproxy exited at start (%v): %s", waitErr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy never listened on %s: %s", front, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ListenAddr returns "127.0.0.1:<port>" for a FreePort.
func ListenAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}
