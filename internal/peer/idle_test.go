package peer

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// TestIdleFloodFromOneAddress: 2,000 idle connections from 127.0.0.2, more
// than a process with a common limit of 1,024 open files can hold, do not
// keep a download from 127.0.0.1 from being served.
func TestIdleFloodFromOneAddress(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	want := f.publish(t, "a.txt", 1<<20)
	testenv.LimitFiles(t, 1024)
	opened := testenv.Flood(t, "127.0.0.2", f.addr(), 2000, nil)
	t.Logf("the flood opened %d connections", opened)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	local := filepath.Join(f.dstDir, "a.txt")
	start := time.Now()
	res, err := Download(ctx, f.addr(), "a.txt", local, DownloadConfig{})
	if err != nil || res.Outcome != wire.OK {
		t.Fatalf("download from 127.0.0.1 during the flood: %+v %v after %v", res, err, time.Since(start))
	}
	t.Logf("served in %v", time.Since(start))
	if got, _ := os.ReadFile(local); !bytes.Equal(got, want) {
		t.Fatal("content differs")
	}
}

// TestIdleConnectionsUnderTheCaps: 150 connections from 10 addresses (each
// under the per-source cap), some silent and some stalled half-way
// through their request, stay open while a download is served: none is
// dropped to make room.
func TestIdleConnectionsUnderTheCaps(t *testing.T) {
	const idle = 150
	testenv.RaiseFileLimit(t, 2*idle+200)
	// Deadlines far longer than the test: the idle connections stay open
	// throughout.
	f := newFixture(t, ServerConfig{RequestTimeout: 5 * time.Minute, FirstByteTimeout: 5 * time.Minute})
	want := f.publish(t, "a.txt", 1<<20)
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i%10))}}
		c, err := d.Dial("tcp4", f.addr())
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns[:30] {
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
	// A read sees a timeout, not EOF.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); !os.IsTimeout(err) {
			t.Fatalf("idle connection %d: %v", i, err)
		}
	}
}
