package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// HAProxy runs haproxy in the foreground with the repository's
// scripts/haproxy.cfg (the file `make cluster` uses), listening on front
// and balancing over server1 and server2 (host:port each). It returns
// the running process (for its CPU time) once front accepts connections;
// haproxy is killed when t ends. Without haproxy installed the test is
// Unavailable.
func HAProxy(t testing.TB, front, server1, server2 string) *Proc {
	t.Helper()
	bin := LookPath(t, "haproxy")
	cfg := filepath.Join(RepoRoot(), "scripts", "haproxy.cfg")
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Env = append(os.Environ(), "P2P_FRONT="+front, "P2P_SERVER1="+server1, "P2P_SERVER2="+server2)
	p := Start(t, cmd)
	p.WaitListening(10*time.Second, front)
	return p
}

// ListenAddr returns "127.0.0.1:<port>" for a FreePort.
func ListenAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}
