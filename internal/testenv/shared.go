package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// Lines returns the complete lines written so far, without their
// newlines; a last line still being written is left out, so that a test
// never matches half a line.
func (b *Buffer) Lines() []string {
	s := b.String()
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		return nil
	}
	return strings.Split(s[:i], "\n")
}

// RaiseFileLimit raises this process's soft limit on open files to at
// least n for the test, failing it when the hard limit is lower.
func RaiseFileLimit(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("this test needs %d open files; the hard limit is %d (raise it: ulimit -Hn)", n, lim.Max)
	}
	setFileLimit(t, lim, n)
}

// setFileLimit sets the soft limit on open files, now lim, to n (at most
// lim.Max) until t ends.
func setFileLimit(t testing.TB, lim syscall.Rlimit, n uint64) {
	t.Helper()
	old := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// CPUTime is the user and system CPU time this process has used so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// lies outside the kernel's range of ephemeral ports, so that no outgoing
// connection (of this test or of any test running beside it, in another
// package's binary) can take it before the server the caller starts binds
// it, or when a test starts a server again on its port.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := 32768, 60999 // Linux's default ip_local_port_range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &lo, &hi)
	}
	// Below the range when it leaves room there, else above it.
	first, last := 10000, lo-1
	if last-first < 1000 {
		first, last = hi+1, 65535
	}
	for range 200 {
		p := first + rand.IntN(last-first+1)
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatalf("no free port in %d..%d", first, last)
	return 0
}
