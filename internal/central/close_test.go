package central

import (
	"io"
	"net"
	"testing"
	"time"

	"p2p/internal/wire"
)

// TestCloseGraceful: Close stops accepting, lets a request being sent
// finish and answers it, and cuts idle connections instead of waiting for
// their read deadline.
func TestCloseGraceful(t *testing.T) {
	ts := startServer(t, testConfig{Config: Config{ReadTimeout: 10 * time.Minute}})
	addr := ts.Addr().String()
	idle, err := net.Dial("tcp", addr)
	must(t, err)
	defer idle.Close()
	half, err := net.Dial("tcp", addr)
	must(t, err)
	defer half.Close()
	full := req(t, wire.Register, "late")
	_, err = half.Write(full[:10])
	must(t, err)
	time.Sleep(100 * time.Millisecond) // both accepted and reading
	closed := make(chan struct{})
	go func() {
		ts.Close()
		close(closed)
	}()
	_, err = half.Write(full[10:]) // within shutdownGrace of the cut

	must(t, err)
	half.SetReadDeadline(time.Now().Add(30 * time.Second))
	reply, err := io.ReadAll(half)
	if err != nil || string(reply) != "0" {
		t.Errorf("request finished during Close: %q, %v", reply, err)
	}
	select {
	case <-closed:
	case <-time.After(60 * time.Second):
		t.Fatal("Close waits for an idle connection's read deadline")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting after Close")
	}
}
