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

func TestThousandIdleConnections(t *testing.T) {
	const idle = 1000
	testenv.RaiseFileLimit(t, 2*idle+200)
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
