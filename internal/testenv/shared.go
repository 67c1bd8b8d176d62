package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"testing"
)

// Buffer is a writer a test reads while other goroutines (a server's
// console, a logger's warnings) write to it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Build compiles the command p2p/cmd/<name> to the file out, with extra
// go build flags (such as -race), and fails t when it does not build.
func Build(t testing.TB, out, name string, flags ...string) {
	t.Helper()
	if err := BuildErr(out, name, flags...); err != nil {
		t.Fatal(err)
	}
}

// BuildErr is Build for callers that build once for many tests and keep
// the error (a sync.Once in TestMain or a helper).
func BuildErr(out, name string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", out, "p2p/cmd/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, b)
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago
// (something else may take it before the caller binds it).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
