package listen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"p2p/internal/testenv"
)

// echoServer serves cfg on 127.0.0.1: each connection gets back its
// first line (up to '.'), prefixed with the address the Listener says it
// came from; a connection that has not sent its '.' stays open.
func echoServer(t *testing.T, cfg Config) (*Listener, string) {
	t.Helper()
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, cfg)
	go l.Serve(func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('.')
		if err == nil {
			io.WriteString(c, c.RemoteAddr().(*net.TCPAddr).IP.String()+" "+line)
		}
	})
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	return l, inner.Addr().String()
}

// waitSource waits until the listener counts n connections from src.
func waitSource(t *testing.T, l *Listener, src string, n int) {
	t.Helper()
	key := netip.MustParseAddr(src)
	testenv.Eventually(t, 5*time.Second, fmt.Sprintf("%d connections counted from %s", n, src), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.sources[key] == n
	})
}

// dialFrom connects from the local address src (any of 127.0.0.0/8).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused checks that a connection from src is closed (or reset) at once,
// without waiting for a request.
func refused(src, addr string) error {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		return nil // reset before the dial returned
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	switch _, err := c.Read(make([]byte, 1)); {
	case err == nil:
		return errors.New("answered")
	case os.IsTimeout(err):
		return errors.New("left open")
	}
	return nil
}

// ask sends msg and returns the whole answer ("" when closed without one).
func ask(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if msg != "" {
		c.Write([]byte(msg))
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestPerSourceCap(t *testing.T) {
	l, addr := echoServer(t, Config{MaxPerSource: 3})
	var held []net.Conn
	for range 3 {
		c := dialFrom(t, "127.0.0.2", addr)
		c.Write([]byte("x")) // admitted, then the handler waits for more
		held = append(held, c)
	}
	waitSource(t, l, "127.0.0.2", 3)
	if err := refused("127.0.0.2", addr); err != nil {
		t.Fatalf("a fourth connection from 127.0.0.2: %v", err)
	}
	if got := ask(t, dialFrom(t, "127.0.0.1", addr), "hi."); got != "127.0.0.1 hi." {
		t.Fatalf("another source: %q", got)
	}
	// A place freed is a place to take.
	held[0].Close()
	waitSource(t, l, "127.0.0.2", 2)
	if got := ask(t, dialFrom(t, "127.0.0.2", addr), "again."); got != "127.0.0.2 again." {
		t.Fatalf("after one closed: %q", got)
	}
}

func TestGlobalCapWaitsInBacklog(t *testing.T) {
	l, addr := echoServer(t, Config{MaxConns: 2})
	// Two connections still waiting for their first bytes hold both places.
	a, _ := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.3", addr)
	testenv.Eventually(t, 5*time.Second, "both places taken", func() bool { return len(l.slots) == 2 })
	third := dialFrom(t, "127.0.0.4", addr)
	third.Write([]byte("third."))
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := third.Read(make([]byte, 1)); !os.IsTimeout(err) {
		t.Fatalf("a connection past MaxConns was served or closed: %d, %v", n, err)
	}
	a.Close()
	if got := ask(t, third, ""); got != "127.0.0.4 third." {
		t.Fatalf("the waiting connection once a place freed: %q", got)
	}
}

func TestFirstByteTimeout(t *testing.T) {
	_, addr := echoServer(t, Config{FirstByteTimeout: 200 * time.Millisecond})
	idle := dialFrom(t, "127.0.0.2", addr)
	start := time.Now()
	if got := ask(t, idle, ""); got != "" || time.Since(start) > 3*time.Second {
		t.Fatalf("silent connection: %q after %v", got, time.Since(start))
	}
	// A connection that speaks in time goes on under the handler's own,
	// longer, deadline.
	slow := dialFrom(t, "127.0.0.2", addr)
	slow.Write([]byte("a"))
	time.Sleep(400 * time.Millisecond) // not polling: past FirstByteTimeout, which no longer applies
	if got := ask(t, slow, "b."); got != "127.0.0.2 ab." {
		t.Fatalf("connection that sent its first byte in time: %q", got)
	}
}

func TestProxyHeader(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.5/32")}
	l, addr := echoServer(t, Config{TrustedProxies: trusted, MaxPerSource: 1, FirstByteTimeout: 500 * time.Millisecond})
	header := func(v byte, src string) string {
		h := proxyproto.HeaderProxyFromAddrs(v, &net.TCPAddr{IP: net.ParseIP(src), Port: 40000}, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8888})
		h.Command = proxyproto.PROXY
		b, err := h.Format()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, v := range []byte{1, 2} {
		// A client of its own for each: the server may not have closed
		// the last one yet, and MaxPerSource is 1.
		client := fmt.Sprintf("10.1.2.%d", 2+v)
		if got := ask(t, dialFrom(t, "127.0.0.5", addr), header(v, client)+"hello."); got != client+" hello." {
			t.Errorf("v%d header from the balancer: %q", v, got)
		}
	}
	// A LOCAL header (HAProxy's health check) names no client: the
	// balancer's own address stays.
	local := &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL}
	lb, err := local.Format()
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, dialFrom(t, "127.0.0.5", addr), string(lb)+"check."); got != "127.0.0.5 check." {
		t.Errorf("LOCAL header from the balancer: %q", got)
	}
	// No header from the balancer: closed, nothing said.
	if got := ask(t, dialFrom(t, "127.0.0.5", addr), "hello."); got != "" {
		t.Errorf("balancer without a header: %q", got)
	}
	// A header from anyone else is not read: it is the protocol's bytes.
	if got := ask(t, dialFrom(t, "127.0.0.6", addr), header(1, "10.1.2.3")+"."); strings.HasPrefix(got, "10.1.2.3") {
		t.Errorf("header from an untrusted source believed: %q", got)
	}
	// The per-source cap counts the client behind the balancer, not the
	// balancer: a second connection of 10.9.9.9 is refused, 10.9.9.8 is not.
	first := dialFrom(t, "127.0.0.5", addr)
	first.Write([]byte(header(2, "10.9.9.9") + "x"))
	waitSource(t, l, "10.9.9.9", 1)
	if got := ask(t, dialFrom(t, "127.0.0.5", addr), header(2, "10.9.9.9")+"y."); got != "" {
		t.Errorf("second connection of one client through the balancer: %q", got)
	}
	if got := ask(t, dialFrom(t, "127.0.0.5", addr), header(2, "10.9.9.8")+"z."); got != "10.9.9.8 z." {
		t.Errorf("another client through the balancer: %q", got)
	}
}

func TestShutdownGrace(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{Grace: 300 * time.Millisecond})
	got := make(chan string, 2)
	go l.Serve(func(c net.Conn) {
		for {
			// A long deadline, set again and again (as the RPC server does
			// between calls): Shutdown's cut must still hold.
			c.SetReadDeadline(time.Now().Add(time.Hour))
			b := make([]byte, 16)
			n, err := c.Read(b)
			if err != nil {
				got <- "ended: " + strings.TrimSpace(errString(err))
				return
			}
			c.Write(b[:n])
		}
	})
	c := dialFrom(t, "127.0.0.1", inner.Addr().String())
	c.Write([]byte("a"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { l.Shutdown(context.Background()); close(done) }()
	testenv.Eventually(t, 5*time.Second, "Shutdown to begin", func() bool { return l.cut.Load() != nil })
	// Within the grace the connection is still served.
	c.Write([]byte("b"))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("within the grace: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not cut a connection that keeps renewing its deadline")
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("Shutdown returned after %v, before the grace", took)
	}
	if s := <-got; !strings.Contains(s, "timeout") {
		t.Errorf("handler %s", s)
	}
	if _, err := net.DialTimeout("tcp4", inner.Addr().String(), time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestShutdownAbort(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{Grace: time.Hour})
	var wg sync.WaitGroup
	wg.Add(1)
	serving := make(chan struct{})
	go l.Serve(func(c net.Conn) {
		defer wg.Done()
		close(serving)
		io.Copy(io.Discard, c)
	})
	c := dialFrom(t, "127.0.0.1", inner.Addr().String())
	c.Write([]byte("a"))
	<-serving
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a done context: %v", err)
	}
	wg.Wait() // the handler has returned
}

func TestAcceptAfterClose(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{})
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestConnKeepsTCPPaths: the handler can still half-close and sendfile.
func TestConnKeepsTCPPaths(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("file bytes")
	f.Close()
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{})
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	go l.Serve(func(c net.Conn) {
		c.Read(make([]byte, 1))
		src, _ := os.Open(f.Name())
		defer src.Close()
		if _, ok := c.(io.ReaderFrom); !ok {
			return
		}
		io.Copy(c, src)
		c.(interface{ CloseWrite() error }).CloseWrite()
		c.Read(make([]byte, 1)) // until the client closes
	})
	c := dialFrom(t, "127.0.0.1", inner.Addr().String())
	if got := ask(t, c, "?"); got != "file bytes" {
		t.Fatalf("got %q", got)
	}
}

func TestParseSources(t *testing.T) {
	good := map[string]string{
		"10.0.0.5":                 "10.0.0.5/32",
		"10.0.0.5, 192.168.1.0/24": "10.0.0.5/32 192.168.1.0/24",
		"192.168.1.7/24":           "192.168.1.0/24",
	}
	for in, want := range good {
		ps, err := ParseSources(in)
		var s []string
		for _, p := range ps {
			s = append(s, p.String())
		}
		if err != nil || strings.Join(s, " ") != want {
			t.Errorf("ParseSources(%q) = %v, %v; want %s", in, s, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.5,", "::1", "2001:db8::/32", "10.0.0", "10.0.0.0/33", "host.example"} {
		if ps, err := ParseSources(in); err == nil {
			t.Errorf("ParseSources(%q) = %v, want an error", in, ps)
		}
	}
}

func errString(err error) string { return err.Error() }
