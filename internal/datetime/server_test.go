package datetime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"p2p/internal/testenv"
)

// startServe runs Serve on 127.0.0.1 and returns its URL, a stop function
// and a function that waits for Serve's result.
func startServe(t *testing.T, cfg Config) (string, context.CancelFunc, func(time.Duration) (error, bool)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var serveErr error
	go func() { serveErr = Serve(ctx, ln, cfg); close(done) }()
	wait := func(d time.Duration) (error, bool) {
		select {
		case <-done:
			return serveErr, true
		case <-time.After(d):
			return nil, false
		}
	}
	t.Cleanup(func() {
		cancel()
		if _, ok := wait(30 * time.Second); !ok {
			t.Error("Serve did not return after its context ended")
		}
	})
	return "http://" + ln.Addr().String() + "/", cancel, wait
}

// rawRequest writes a POST with a zeep envelope, all but its last byte when
// partial is set.
func rawRequest(conn net.Conn, partial bool) error {
	body := zeepEnvelope
	if partial {
		body = body[:len(body)-1]
	}
	_, err := fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: \"datetime\"\r\nContent-Length: %d\r\n\r\n%s", len(zeepEnvelope), body)
	return err
}

// rawRequestTo writes a whole keep-alive datetime call to w.
func rawRequestTo(w io.Writer) {
	fmt.Fprintf(w, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: \"datetime\"\r\nContent-Length: %d\r\n\r\n%s", len(zeepEnvelope), zeepEnvelope)
}

func TestServeGracefulShutdown(t *testing.T) {
	url, stop, wait := startServe(t, Config{})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	if _, err := NewClient(url).Now(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A call in progress (body not all sent) when the stop comes...
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := rawRequest(conn, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start reading it
	stop()
	// ...new connections are refused once the listener is closed...
	testenv.Eventually(t, 10*time.Second, "the stopped server to refuse connections", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	// ...and the call in progress is still answered.
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(zeepEnvelope[len(zeepEnvelope)-1:])); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("call in progress at the stop: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "datetimeResult") {
		t.Errorf("call in progress at the stop: %s %s", resp.Status, b)
	}
	err, ok := wait(20 * time.Second)
	if !ok {
		t.Fatal("Serve did not return after the stop")
	}
	if err != nil {
		t.Errorf("Serve returned %v after a graceful stop", err)
	}
}

// TestServeHeaderLimit: MaxHeaderBytes is the limit to the byte (net/http
// alone would let 4096 bytes more through), for the default and another.
func TestServeHeaderLimit(t *testing.T) {
	for _, limit := range []int{DefaultConfig().MaxHeaderBytes, 8192, MinMaxHeaderBytes} {
		url, _, _ := startServe(t, Config{MaxHeaderBytes: limit})
		addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
		for _, size := range []int{limit, limit + 1} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: \"datetime\"\r\nContent-Length: %d\r\nX-Pad: ", len(zeepEnvelope))
			pad := size - len(head) - len("\r\n\r\n")
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "%s%s\r\n\r\n%s", head, strings.Repeat("a", pad), zeepEnvelope)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if err != nil {
				t.Fatalf("limit %d, headers of %d bytes: %v", limit, size, err)
			}
			resp.Body.Close()
			if tooLarge := resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge; tooLarge != (size > limit) {
				t.Errorf("limit %d, headers of %d bytes: %s", limit, size, resp.Status)
			}
		}
	}
}

func TestServeBodyLimit(t *testing.T) {
	url, _, _ := startServe(t, Config{MaxBodyBytes: 512})
	resp, err := http.Post(url, "text/xml", strings.NewReader(zeepEnvelope+strings.Repeat(" ", 512)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "larger than 512 bytes") {
		t.Errorf("%s %s", resp.Status, b)
	}
}

func TestServeDropsSilentConnection(t *testing.T) {
	url, _, _ := startServe(t, Config{FirstByteTimeout: 200 * time.Millisecond, ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a connection that sends nothing: read gave %v, want EOF (closed by the server)", err)
	}
}

// TestIdleConnections holds 1,000 connections open against the service,
// from 50 addresses (each under the per-source cap), half never sending a
// byte and half idle after a call (keep-alive), and checks that a normal
// call is still answered. (From one address: TestIdleFloodFromOneAddress.)
func TestIdleConnections(t *testing.T) {
	const idle = 1000
	testenv.RaiseFileLimit(t, 2*idle+200) // both ends live in this process
	// Timeouts long enough that the server keeps every connection for
	// the whole test, however slow the machine.
	url, _, _ := startServe(t, Config{FirstByteTimeout: 5 * time.Minute, ReadHeaderTimeout: 5 * time.Minute, IdleTimeout: 5 * time.Minute})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < idle; i++ {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i%50))}}
		c, err := d.Dial("tcp4", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 1 { // one call, then idle with keep-alive
			if err := callOn(c); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := NewClient(url).Now(ctx)
	if err != nil || !Valid(got) {
		t.Fatalf("with %d idle connections: Now = %q, %v", idle, got, err)
	}
	// The idle connections were really held open: a sample of both kinds
	// still answers.
	for i := 0; i < idle; i += 25 {
		for _, j := range []int{i, i + 1} {
			if err := callOn(conns[j]); err != nil {
				t.Errorf("idle connection %d no longer answers: %v", j, err)
			}
		}
	}
}

// callOn makes one datetime call on an open connection.
func callOn(c net.Conn) error {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	defer c.SetDeadline(time.Time{})
	if err := rawRequest(c, false); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// TestIdleFloodFromOneAddress: 2,000 keep-alive connections from 127.0.0.2,
// each idle after one call, more than a process with a common limit of
// 1,024 open files can hold (20,000 took every peer offline in an
// abuser's trial), do not keep a datetime call from 127.0.0.1 from its
// answer.
func TestIdleFloodFromOneAddress(t *testing.T) {
	url, _, _ := startServe(t, Config{})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	testenv.LimitFiles(t, 1024)
	var call strings.Builder
	rawRequestTo(&call)
	opened := testenv.Flood(t, "127.0.0.2", addr, 2000, []byte(call.String()))
	t.Logf("the flood opened %d connections", opened)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	got, err := NewClient(url).Now(ctx)
	if err != nil || !Valid(got) {
		t.Fatalf("datetime from 127.0.0.1 during the flood: %q, %v after %v", got, err, time.Since(start))
	}
	t.Logf("answered in %v", time.Since(start))
}

// TestIdleKeepAliveMakesRoom: at MaxConns, connections idle after a call
// (keep-alive) give their places to new clients instead of holding them
// for IdleTimeout.
func TestIdleKeepAliveMakesRoom(t *testing.T) {
	const maxConns = 4
	url, _, _ := startServe(t, Config{MaxConns: maxConns, IdleTimeout: 5 * time.Minute})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	var idle []net.Conn
	for i := range maxConns {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}}
		c, err := d.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := callOn(c); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		got, err := NewClient(url).Now(ctx)
		cancel()
		if err != nil || !Valid(got) {
			t.Fatalf("new client with %d idle keep-alive connections open: %q, %v", maxConns, got, err)
		}
	}
	closed := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed == 0 {
		t.Error("no idle connection was closed to make room")
	}
}
