package rpclog_test

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/central"
	"p2p/internal/logging"
	"p2p/internal/rpclog"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// The central server's side of §6: every request that parses becomes one
// LOG_OPERATION call, and the directory never waits for the log server.

// do sends one request to the central server on its own connection and
// returns the status byte.
func do(t testing.TB, addr string, req wire.Request) wire.Status {
	t.Helper()
	st, err := tryDo(addr, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
	return st
}

func tryDo(addr string, req wire.Request) (wire.Status, error) {
	b, err := wire.AppendRequest(nil, req)
	if err != nil {
		return 0, err
	}
	var st wire.Status
	c := wire.Client{Timeout: 20 * time.Second}
	err = c.Send(context.Background(), addr, b, func(r io.Reader) error {
		var err error
		if st, err = wire.ReadStatus(r); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r) // lists, then the server's close
		return err
	})
	return st, err
}

func startCentral(t testing.TB, logger central.OpLogger) string {
	t.Helper()
	srv, err := central.Start(central.Config{Addr: "127.0.0.1:0", Directory: testenv.CSVDirectory(t, t.TempDir()), Console: io.Discard, Log: logging.Discard(), OpLog: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr().String()
}

// session is a sequence of requests covering every operation, and the
// lines a log server must print for it.
func session(user string) ([]wire.Request, []string) {
	const dt = "30/11/2026 17:20:00"
	reqs := []wire.Request{
		{Op: wire.Register, Username: user},
		{Op: wire.Connect, Username: user, Port: "4000"},
		{Op: wire.Publish, Username: user, Filename: "my song.mp3", Description: "a song"},
		{Op: wire.ListUsers, Username: user},
		{Op: wire.ListContent, Username: user, Remote: user},
		{Op: wire.Delete, Username: user, Filename: "my song.mp3"},
		{Op: wire.Publish, Username: "nobody", Filename: "x", Description: "refused, still logged"},
		{Op: wire.Disconnect, Username: user},
		{Op: wire.Unregister, Username: user},
	}
	var lines []string
	for i := range reqs {
		reqs[i].DateTime = dt
		e := rpclog.Entry{Username: reqs[i].Username, Operation: string(reqs[i].Op), DateTime: dt}
		if rpclog.HasFilename(e.Operation) {
			e.Filename = reqs[i].Filename
		}
		lines = append(lines, rpclog.Line(e))
	}
	return reqs, lines
}

// TestInteropCentralToCServer: the central server's log calls, through
// the Sender, are printed right by the rpcgen-made C server.
func TestInteropCentralToCServer(t *testing.T) {
	csrv := startCServer(t)
	s := rpclog.NewSender(rpclog.SenderConfig{Host: "127.0.0.1", Port: csrv.port, Timeout: 5 * time.Second, Log: logging.New(os.Stderr, "")})
	addr := startCentral(t, s)
	reqs, want := session("alice")
	for _, r := range reqs {
		do(t, addr, r)
	}
	// A request that does not parse is not logged.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Write([]byte("BOGUS\x00"))
		c.Close()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkLines(t, csrv.lines(len(want)), want)
}

// TestCentralLogServerStoppedAndBack: with the log server stopped (or
// silent), every request is answered as usual — each within a generous
// bound far below what waiting on the logger would cost — and when it is
// back logging resumes, with one warning per outage.
func TestCentralLogServerStoppedAndBack(t *testing.T) {
	// A silent log server first: it accepts and never answers. Its port
	// is a FreePort, outside the ephemeral range, so that no outgoing
	// connection of a test running beside takes it (or holds it in
	// TIME_WAIT) before the real log server binds it below.
	silent, err := net.Listen("tcp", testenv.ListenAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	port := silent.Addr().(*net.TCPAddr).Port
	warn := &testenv.Buffer{}
	s := rpclog.NewSender(rpclog.SenderConfig{Host: "127.0.0.1", Port: port, Timeout: 2 * time.Second, QueueSize: 8, Log: logging.New(warn, "server")})
	defer s.Close()
	addr := startCentral(t, s)
	// 300 requests: had Log waited for the 2 s call timeout, this would
	// take minutes; the bound is 60 s for all of them.
	runRequests := func(user string, n int) {
		t.Helper()
		start := time.Now()
		do(t, addr, wire.Request{Op: wire.Register, DateTime: "d", Username: user})
		for i := 0; i < n; i++ {
			if st := do(t, addr, wire.Request{Op: wire.ListContent, DateTime: "d", Username: user, Remote: user}); st != 2 {
				t.Fatalf("LIST_CONTENT of a registered, not connected user: status %d, want 2", st)
			}
		}
		if d := time.Since(start); d > 60*time.Second {
			t.Fatalf("%d requests took %v with the log server down", n, d)
		}
	}
	runRequests("a", 300)

	// Now nothing listens at all.
	silent.Close()
	mu.Lock()
	for _, c := range held {
		c.Close()
	}
	mu.Unlock()
	runRequests("b", 300)

	// The log server comes back on the same port.
	srv := startGoServerPort(t, port)
	if !testenv.Poll(30*time.Second, func() bool {
		do(t, addr, wire.Request{Op: wire.ListUsers, DateTime: "d", Username: "back"})
		got := srv.lines(0)
		return len(got) > 0 && got[len(got)-1] == "back LIST_USERS d"
	}) {
		t.Fatalf("logging did not resume; warnings:\n%s", warn)
	}
	// The server prints a line before it replies, and the sender reports the
	// recovery once the reply is in: give that report a moment to land.
	var w string
	testenv.Poll(10*time.Second, func() bool { w = warn.String(); return strings.Contains(w, "answers again") })
	if strings.Count(w, "dropping") != 1 || strings.Count(w, "answers again") != 1 {
		t.Fatalf("want one outage warning and one recovery line for one outage, got:\n%s", w)
	}
}

// TestCentralLoadWhileLogServerRestarts: under a steady load from several
// clients, the log server is killed and started again on the same port;
// no request stalls or fails, and logging resumes.
func TestCentralLoadWhileLogServerRestarts(t *testing.T) {
	// A FreePort, not -p 0: the second server binds it again (see
	// TestCentralLogServerStoppedAndBack).
	port := testenv.FreePort(t)
	first := startGoServer(t, "-p", strconv.Itoa(port)) // the last -p wins
	s := rpclog.NewSender(rpclog.SenderConfig{Host: "127.0.0.1", Port: port, Timeout: 2 * time.Second, Log: logging.New(&testenv.Buffer{}, "server")})
	defer s.Close()
	addr := startCentral(t, s)
	do(t, addr, wire.Request{Op: wire.Register, DateTime: "d", Username: "load"})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := tryDo(addr, wire.Request{Op: wire.ListContent, DateTime: "d", Username: "load", Remote: "load"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Not polling: the load runs for a while before the kill, with the
	// server down and after its return.
	time.Sleep(300 * time.Millisecond)
	first.Kill()
	time.Sleep(300 * time.Millisecond)
	second := startGoServerPort(t, port)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a request failed while the log server restarted: %v", err)
	}
	if len(first.lines(1)) == 0 {
		t.Fatal("nothing logged before the kill")
	}
	testenv.Eventually(t, 30*time.Second, "logging to resume after the restart", func() bool {
		do(t, addr, wire.Request{Op: wire.ListUsers, DateTime: "d", Username: "marker"})
		got := second.lines(0)
		return len(got) > 0 && got[len(got)-1] == "marker LIST_USERS d"
	})
}

// startGoServerPort runs rpc_server on a given port, retrying while the
// port is still held by the previous process.
func startGoServerPort(t testing.TB, port int) *proc {
	t.Helper()
	var err error
	if !testenv.Poll(20*time.Second, func() bool {
		var l net.Listener
		if l, err = net.Listen("tcp", ":"+strconv.Itoa(port)); err != nil {
			return false
		}
		l.Close()
		return true
	}) {
		t.Fatalf("port %d stays busy: %v", port, err)
	}
	return startGoServer(t, "-p", strconv.Itoa(port)) // the last -p wins
}
