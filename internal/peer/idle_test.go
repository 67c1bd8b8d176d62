package peer

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"p2p/internal/wire"
)

// raiseNoFile lifts the soft descriptor limit towards need (Go already
// raises it to the hard limit at start on Linux; this is for the rest).
func raiseNoFile(t *testing.T, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		t.Fatalf("descriptor limit %d < %d and cannot be raised: %v", lim.Cur, need, err)
	}
}

func TestThousandIdleConnections(t *testing.T) {
	const idle = 1000
	raiseNoFile(t, 2*idle+200)
	// A request deadline far longer than the test: the idle connections
	// stay open throughout.
	f := newFixture(t, ServerConfig{RequestTimeout: 5 * time.Minute})
	want := f.publish(t, "a.txt", 1<<20)
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		c, err := net.DialTimeout("tcp4", f.addr(), 10*time.Second)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	// Some idle ones sent half a request.
	for _, c := range conns[:100] {
		c.Write([]byte("GET_FILE\x00half"))
	}
	local := filepath.Join(f.dstDir, "a.txt")
	res, err := Download(context.Background(), f.addr(), "a.txt", local, DownloadConfig{})
	if err != nil || res.Outcome != wire.OK {
		t.Fatalf("with %d idle connections: %+v %v", idle, res, err)
	}
	if got, _ := os.ReadFile(local); !bytes.Equal(got, want) {
		t.Fatal("content differs")
	}
	// The idle connections are all still open (none was dropped to make
	// room): a read sees a timeout, not EOF.
	for i, c := range conns[:50] {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); !os.IsTimeout(err) {
			t.Fatalf("idle connection %d: %v", i, err)
		}
	}
}
