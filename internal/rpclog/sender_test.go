package rpclog

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"p2p/internal/logging"
	"p2p/internal/oncrpc"
	"p2p/internal/testenv"
)

func entry(i int) Entry {
	return Entry{Username: "u" + strconv.Itoa(i), Operation: "LIST_USERS", DateTime: "30/11/2026 17:20:00"}
}

// runWithin fails the test when f has not returned after d: the calls it
// makes must not block.
func runWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s blocked for more than %v", what, d)
	}
}

func TestSenderKeepsOrder(t *testing.T) {
	_, addr, out := startLogServer(t)
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	warn := &testenv.Buffer{}
	s := NewSender(SenderConfig{Host: "127.0.0.1", Port: p, QueueSize: 1000, Timeout: 5 * time.Second, Log: logging.New(warn, "server")})
	var want strings.Builder
	for i := 0; i < 1000; i++ {
		s.Log(entry(i))
		want.WriteString(Line(entry(i)) + "\n")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("lines out of order or missing: got %d bytes, want %d", len(out.String()), want.Len())
	}
	if warn.String() != "" {
		t.Fatalf("unexpected warnings: %q", warn.String())
	}
	s.Log(entry(0)) // after Close: ignored, no panic
}

// TestSenderOutageAndResume: with no log server, Log never blocks and one
// warning is printed; when the server comes up, logging resumes and one
// more line says so.
func TestSenderOutageAndResume(t *testing.T) {
	port := testenv.FreePort(t)
	warn := &testenv.Buffer{}
	s := NewSender(SenderConfig{Host: "127.0.0.1", Port: port, QueueSize: 16, Log: logging.New(warn, "server")})
	defer s.Close()
	runWithin(t, 10*time.Second, "Log with the server down", func() {
		for i := 0; i < 20000; i++ {
			s.Log(entry(i))
		}
	})
	testenv.Eventually(t, 20*time.Second, "the outage warning", func() bool { return strings.Contains(warn.String(), "dropping") })

	_, _, out := startLogServerAt(t, "127.0.0.1:"+strconv.Itoa(port))
	testenv.Eventually(t, 20*time.Second, "logging to resume", func() bool {
		s.Log(Entry{Username: "back", Operation: "REGISTER", DateTime: "x"})
		return strings.Contains(out.String(), "back REGISTER x\n")
	})
	w := warn.String()
	if strings.Count(w, "\n") != 2 || strings.Count(w, "dropping") != 1 || !strings.Contains(w, "answers again") {
		t.Fatalf("want one outage warning and one recovery line, got:\n%s", w)
	}
}

// TestSenderSlowServer: a server that accepts and never answers fills the
// queue; Log still returns at once, one warning, Close is bounded.
func TestSenderSlowServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	warn := &testenv.Buffer{}
	s := NewSender(SenderConfig{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, QueueSize: 8,
		Timeout: 200 * time.Millisecond, CloseWait: 300 * time.Millisecond, Log: logging.New(warn, "server")})
	runWithin(t, 10*time.Second, "Log with a silent server", func() {
		for i := 0; i < 5000; i++ {
			s.Log(entry(i))
		}
	})
	runWithin(t, 10*time.Second, "Close with a silent server", func() { s.Close() })
	if n := strings.Count(warn.String(), "dropping"); n != 1 {
		t.Fatalf("%d outage warnings, want 1:\n%s", n, warn.String())
	}
}

// TestSenderServerRestart: the persistent connection dies with the server;
// the next entry is sent on a fresh connection without being lost.
func TestSenderServerRestart(t *testing.T) {
	srv, addr, out := startLogServer(t)
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	warn := &testenv.Buffer{}
	s := NewSender(SenderConfig{Host: "127.0.0.1", Port: p, Timeout: 5 * time.Second, Log: logging.New(warn, "server")})
	defer s.Close()
	s.Log(entry(1))
	testenv.Eventually(t, 20*time.Second, "the first line", func() bool { return out.String() != "" })
	srv.Close()
	_, _, out2 := startLogServerAt(t, addr)
	s.Log(entry(2))
	testenv.Eventually(t, 20*time.Second, "the line after the restart", func() bool { return out2.String() == Line(entry(2))+"\n" })
	if warn.String() != "" {
		t.Fatalf("a restart between two calls should cost no entry, got warnings:\n%s", warn.String())
	}
}

// slowWriter delays each line while slow is set, as a log server whose
// terminal stalls.
type slowWriter struct {
	slow atomic.Bool
	out  testenv.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	if w.slow.Load() {
		time.Sleep(300 * time.Millisecond)
	}
	return w.out.Write(p)
}

// TestSenderSlowServerNoDuplicates: a call that times out on a reused
// connection is not sent again, since a slow server may have printed it:
// §6 wants one line per request.
func TestSenderSlowServerNoDuplicates(t *testing.T) {
	w := &slowWriter{}
	srv := &oncrpc.Server{Log: logging.Discard()}
	Register(srv, NewPrinter(w))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	warn := &testenv.Buffer{}
	s := NewSender(SenderConfig{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Timeout: 100 * time.Millisecond, CloseWait: 5 * time.Second, Log: logging.New(warn, "server")})
	s.Log(entry(1))
	testenv.Eventually(t, 20*time.Second, "the first line", func() bool { return w.out.String() != "" })
	w.slow.Store(true)
	s.Log(entry(2))
	time.Sleep(time.Second) // the call times out; the line comes later
	s.Close()
	if n := strings.Count(w.out.String(), Line(entry(2))); n != 1 {
		t.Fatalf("entry 2 printed %d times, want 1:\n%s", n, w.out.String())
	}
}

// TestSenderEntryOverBounds: an entry the .x file cannot carry is dropped
// with a warning of its own, once, not reported as an outage; the others
// go on.
func TestSenderEntryOverBounds(t *testing.T) {
	_, addr, out := startLogServer(t)
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	warn := &testenv.Buffer{}
	s := NewSender(SenderConfig{Host: "127.0.0.1", Port: p, Timeout: 5 * time.Second, Log: logging.New(warn, "server")})
	big := entry(9)
	big.DateTime = strings.Repeat("9", MaxDateTime+1)
	s.Log(entry(1))
	s.Log(big)
	s.Log(big)
	s.Log(entry(2))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), Line(entry(1))+"\n"+Line(entry(2))+"\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
	if strings.Count(warn.String(), "entry not logged") != 1 || strings.Contains(warn.String(), "dropping") {
		t.Errorf("warnings:\n%s", warn.String())
	}
}
