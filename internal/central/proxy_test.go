package central

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"p2p/internal/wire"
)

// proxyHeader is a PROXY header of version v (1 or 2) saying the client
// is client (port 40000) and the server 127.0.0.1:8888.
func proxyHeader(t *testing.T, v byte, client string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(v,
		&net.TCPAddr{IP: net.ParseIP(client), Port: 40000},
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8888})
	h.Command = proxyproto.PROXY
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendFrom writes raw on a connection from the local address src and
// returns everything the server sent before closing.
func sendFrom(t *testing.T, src, addr string, raw []byte) string {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c) // a reset is "no reply" too
	return string(got)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// TestProxyTrustedBalancer: through a balancer the server trusts
// (127.0.0.1), CONNECT records the client address of the PROXY header,
// v1 and v2 alike; from the balancer a request without a header is closed
// without a reply.
func TestProxyTrustedBalancer(t *testing.T) {
	ts := startServer(t, testConfig{Config: Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		// A short first-bytes deadline: the header-less request below
		// must be refused by its bytes, not by a timeout; this keeps the
		// test quick if it were not.
		FirstByteTimeout: time.Second,
	}})
	addr := ts.Addr().String()
	for _, v := range []byte{2, 1} {
		user := map[byte]string{1: "v1user", 2: "v2user"}[v]
		client := map[byte]string{1: "127.0.0.3", 2: "127.0.0.2"}[v]
		via := func(r []byte) string { return sendFrom(t, "127.0.0.1", addr, cat(proxyHeader(t, v, client), r)) }
		if got := via(req(t, wire.Register, user)); got != "0" {
			t.Fatalf("v%d REGISTER: %q", v, got)
		}
		if got := via(req(t, wire.Connect, user, "7000")); got != "0" {
			t.Fatalf("v%d CONNECT: %q", v, got)
		}
	}
	list := sendFrom(t, "127.0.0.1", addr, cat(proxyHeader(t, 2, "127.0.0.2"), req(t, wire.ListUsers, "v2user")))
	want := userList(wire.UserRecord{Username: "v2user", IP: "127.0.0.2", Port: "7000"},
		wire.UserRecord{Username: "v1user", IP: "127.0.0.3", Port: "7000"})
	if list != want {
		t.Fatalf("LIST_USERS through the balancer: %q, want %q", list, want)
	}
	// The balancer without a header: closed, no reply, nothing recorded.
	if got := sendFrom(t, "127.0.0.1", addr, req(t, wire.Register, "bare")); got != "" {
		t.Fatalf("request from the balancer without a PROXY header: %q", got)
	}
	// A header that is not one: closed too.
	if got := sendFrom(t, "127.0.0.1", addr, cat([]byte("PROXY TCP4 nonsense\r\n"), req(t, wire.Register, "bare"))); got != "" {
		t.Fatalf("request from the balancer with a bad PROXY header: %q", got)
	}
	// Other sources are served as always, header-less.
	if got := sendFrom(t, "127.0.0.4", addr, req(t, wire.Register, "direct")); got != "0" {
		t.Fatalf("direct request from another source: %q", got)
	}
	if got := sendFrom(t, "127.0.0.1", addr, cat(proxyHeader(t, 1, "127.0.0.3"), req(t, wire.Register, "bare"))); got != "0" {
		t.Fatalf("bare was recorded by a refused request: %q", got)
	}
}

// TestProxyHeaderNotBelieved: a PROXY header from a source that is not a
// trusted balancer (here the trusted one is 127.0.0.9), or from anyone
// when no balancer is trusted, gets no reply and sets no address.
func TestProxyHeaderNotBelieved(t *testing.T) {
	for name, trusted := range map[string][]netip.Prefix{
		"other balancer": {netip.MustParsePrefix("127.0.0.9/32")},
		"no -proxy":      nil,
	} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, testConfig{Config: Config{TrustedProxies: trusted}})
			addr := ts.Addr().String()
			if got := sendFrom(t, "127.0.0.1", addr, req(t, wire.Register, "mallory")); got != "0" {
				t.Fatalf("REGISTER: %q", got)
			}
			for _, v := range []byte{1, 2} {
				if got := sendFrom(t, "127.0.0.1", addr, cat(proxyHeader(t, v, "127.0.0.2"), req(t, wire.Connect, "mallory", "7000"))); got != "" {
					t.Errorf("CONNECT after a v%d header from an untrusted source: %q, want no reply", v, got)
				}
			}
			if got := sendFrom(t, "127.0.0.1", addr, req(t, wire.Connect, "mallory", "7000")); got != "0" {
				t.Fatalf("plain CONNECT: %q (an earlier one went through?)", got)
			}
			want := userList(wire.UserRecord{Username: "mallory", IP: "127.0.0.1", Port: "7000"})
			if got := sendFrom(t, "127.0.0.1", addr, req(t, wire.ListUsers, "mallory")); got != want {
				t.Fatalf("LIST_USERS: %q, want %q", got, want)
			}
		})
	}
}

// TestProcessProxyFlag: cmd/server's -proxy takes the list of balancers
// (here one address among others and a range) and the address of the
// PROXY header is the one CONNECT records.
func TestProcessProxyFlag(t *testing.T) {
	p := startProc(t, t.TempDir(), "-proxy", "10.0.0.1, 127.0.0.0/30")
	via := func(r []byte) string { return sendFrom(t, "127.0.0.1", p.addr, cat(proxyHeader(t, 2, "127.0.0.2"), r)) }
	for _, r := range [][]byte{req(t, wire.Register, "alice"), req(t, wire.Connect, "alice", "7000")} {
		if got := via(r); got != "0" {
			t.Fatalf("through the balancer: %q; stderr %s", got, p.Stderr.String())
		}
	}
	want := userList(wire.UserRecord{Username: "alice", IP: "127.0.0.2", Port: "7000"})
	if got := via(req(t, wire.ListUsers, "alice")); got != want {
		t.Fatalf("LIST_USERS: %q, want %q", got, want)
	}
	if got := sendFrom(t, "127.0.0.1", p.addr, req(t, wire.ListUsers, "alice")); got != "" {
		t.Fatalf("from the balancer without a header: %q", got)
	}
	if got := sendFrom(t, "127.0.0.5", p.addr, req(t, wire.ListUsers, "alice")); got != want {
		t.Fatalf("from a client outside the balancers: %q", got)
	}
}
