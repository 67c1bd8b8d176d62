package testenv

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// floodEnv, when set in a test binary's environment, makes it a flooder
// (see Flood) instead of running its tests: "src addr n first-hex".
const floodEnv = "P2P_TESTENV_FLOOD"

// Only test binaries import testenv, so this hook runs in no program.
func init() {
	if spec := os.Getenv(floodEnv); spec != "" {
		os.Exit(flood(spec))
	}
}

// Flood opens n connections to addr from the local address src (any of
// 127.0.0.0/8), sends first on each (nothing when empty), and holds them
// open until t ends: an abuser's idle connections. They are opened by a
// child process (this test binary run again), so they use that process's
// file descriptors, not the server's under test, as an attacker on another
// machine would; LimitFiles then gives the server a real machine's limit.
// It returns how many connections the dials opened (a server may have
// reset some of them since).
func Flood(t testing.TB, src, addr string, n int, first []byte) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %x", floodEnv, src, addr, n, first))
	p := Start(t, cmd)
	// Before the kill Start registered: the flooder exits at the end of
	// its stdin, closing its connections; Start's cleanup kills it after
	// 10 s.
	t.Cleanup(func() {
		p.Stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	})
	// As long as the dials may take: each of the flooder's goroutines
	// dials n/floodDialers times, each bounded by floodDialTimeout.
	wait := time.Duration(n/floodDialers+2) * floodDialTimeout
	opened, _ := strconv.Atoi(p.Line(p.Stdout, wait, floodOpened)[1])
	return opened
}

// floodOpened is the flooder's line once its dials are done.
var floodOpened = regexp.MustCompile(`^open (\d+)$`)

// The flooder dials from floodDialers goroutines, each dial bounded by
// floodDialTimeout.
const (
	floodDialers     = 16
	floodDialTimeout = 3 * time.Second
)

// flood is the child's side of Flood: it prints "open <k>" once its dials
// are done, then holds the connections until its stdin ends.
func flood(spec string) int {
	var src, addr, hexFirst string
	var n int
	fields := strings.Fields(spec)
	if len(fields) < 3 {
		fmt.Fprintln(os.Stderr, "bad", floodEnv, spec)
		return 2
	}
	src, addr = fields[0], fields[1]
	n, _ = strconv.Atoi(fields[2])
	if len(fields) > 3 {
		hexFirst = fields[3]
	}
	var first []byte
	fmt.Sscanf(hexFirst, "%x", &first)
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	d := net.Dialer{
		Timeout:   floodDialTimeout,
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)},
		Control: func(_, _ string, c syscall.RawConn) error {
			const ipBindAddressNoPort = 24 // IP_BIND_ADDRESS_NO_PORT, Linux
			c.Control(func(fd uintptr) {
				// The local port is picked at connect time, for the whole
				// 4-tuple, rather than at bind time for src alone:
				// thousands of dials from one address then never run out
				// of ports that older runs' TIME_WAIT sockets still hold.
				syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
				// Thousands of ephemeral ports held: without this, a test
				// running beside (another package) that binds ":<port>"
				// on a port testenv.FreePort just gave would find it
				// "already in use" by one of them.
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			})
			return nil
		},
	}
	var mu sync.Mutex
	var conns []net.Conn
	var next atomic.Int64
	var wg sync.WaitGroup
	for range floodDialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				c, err := d.Dial("tcp4", addr)
				if err != nil {
					continue // refused, reset, or the backlog is full
				}
				if len(first) > 0 {
					c.Write(first)
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("open %d\n", len(conns))
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// LimitFiles sets this process's soft limit on open files to n for the
// rest of the test, lowering it if need be: a server under test then runs
// out of descriptors where a deployed one would, instead of at this
// machine's hard limit.
func LimitFiles(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if n > lim.Max {
		t.Fatalf("LimitFiles(%d): the hard limit is %d", n, lim.Max)
	}
	setFileLimit(t, lim, n)
}
