package oncrpc

import (
	"net"
	"testing"
	"time"

	"p2p/internal/testenv"
)

// TestIdleFloodFromOneAddress: with more idle connections from 127.0.0.2
// than the server's default MaxConns (an abuser's 4,096 starved the
// central server's logger), a NULL call from 127.0.0.1 is answered.
func TestIdleFloodFromOneAddress(t *testing.T) {
	testenv.RaiseFileLimit(t, 2*DefaultMaxConns+512)
	_, addr := startServer(t, nil)
	opened := testenv.Flood(t, "127.0.0.2", addr, DefaultMaxConns+200, nil)
	t.Logf("the flood opened %d connections", opened)
	start := time.Now()
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	conn, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn, 0)
	defer c.Close()
	if _, err := c.Call(time.Now().Add(3*time.Second), testProg, 1, 0, nil); err != nil {
		t.Fatalf("NULL call from 127.0.0.1 during the flood: %v after %v", err, time.Since(start))
	}
	t.Logf("answered in %v", time.Since(start))
}
