package central

import (
	"net"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// askWithin sends a request from src and returns the reply, or "" when
// none came within d.
func askWithin(t *testing.T, src, addr string, raw []byte, d time.Duration) (string, error) {
	t.Helper()
	dl := net.Dialer{Timeout: d, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := dl.Dial("tcp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write(raw); err != nil {
		return "", err
	}
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil {
		return "", err
	}
	return string(b), nil
}

// TestIdleFloodFromOneAddress: 3,000 idle connections from 127.0.0.2 (an
// abuser's trial slowed every request to 9-10 s with them) do not keep a
// request from 127.0.0.1 from its answer.
func TestIdleFloodFromOneAddress(t *testing.T) {
	testenv.RaiseFileLimit(t, 4096)
	ts := startServer(t, testConfig{})
	addr := ts.Addr().String()
	opened := testenv.Flood(t, "127.0.0.2", addr, 3000, nil)
	t.Logf("the flood opened %d connections", opened)
	start := time.Now()
	got, err := askWithin(t, "127.0.0.1", addr, req(t, wire.Register, "alice"), 3*time.Second)
	if got != "0" {
		t.Fatalf("REGISTER from 127.0.0.1 during the flood: %q, %v after %v", got, err, time.Since(start))
	}
	t.Logf("answered in %v", time.Since(start))
}
