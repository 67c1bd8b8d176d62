// Package listen owns accepting TCP connections for every server of the
// project (central, the ONC RPC log server, ws-server and the peers'
// GET_FILE listeners), the way nats-server's one acceptConnections helper
// serves all its listeners: one accept loop, one set of limits, one
// shutdown.
//
// A Listener wraps a net.Listener and admits a connection only when
//
//   - fewer than MaxConns connections are open (at the cap the loop stops
//     accepting: new connections wait in the kernel's listen backlog until
//     one closes, so a burst of real clients is queued, not refused; but
//     a connection the server has marked idle between requests, SetIdle,
//     is closed to make room at once);
//   - fewer than MaxPerSource connections from the same source address are
//     open (over it the new connection is reset at once: one address
//     cannot fill the server, and it does not wait in the backlog in front
//     of everybody else);
//   - it has sent its first bytes within FirstByteTimeout (a connection
//     that sends nothing is closed without reaching the handler, so an idle
//     connection costs a slot for seconds, not for the handler's own,
//     longer, request timeout);
//   - from a trusted load balancer (TrustedProxies), it begins with a valid
//     PROXY protocol header, read under the same FirstByteTimeout; the
//     client address in it becomes the connection's RemoteAddr and is the
//     one the per-source cap counts.
//
// Admitted connections come out of Accept (for net/http: http.Server.Serve
// on the Listener) or are handed to a function by Serve, one goroutine
// each. Shutdown stops accepting, gives open connections a grace period to
// finish sending (no read deadline can be set past it) and waits for them.
//
// Accept errors such as EMFILE are retried with a backoff, inside the
// Listener: a server never sees them and never stops on them.
package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"p2p/internal/logging"
)

// Defaults of Config. Each server passes its own when these do not fit.
const (
	// DefaultMaxConns is far below a process's usual file limit (Go
	// raises the soft limit to the hard one) and far above what one of
	// our servers needs at once.
	DefaultMaxConns = 1024
	// DefaultMaxPerSource leaves room for a NAT in front of many clients
	// and for our own benchmarks (16 clients from one address), while
	// thousands of connections from one address are refused.
	DefaultMaxPerSource = 64
	// DefaultFirstByteTimeout: every client of ours sends its request as
	// soon as it is connected, so the first bytes come one network delay
	// after the handshake; two seconds is generous for that.
	DefaultFirstByteTimeout = 2 * time.Second
	// DefaultGrace is how long Shutdown lets a connection finish sending
	// what it is sending (a request already in the socket is read at once).
	DefaultGrace = 250 * time.Millisecond
)

// Config holds a Listener's limits. Zero values take the defaults above.
type Config struct {
	// Name prefixes the warnings ("central", "rpc_server"...).
	Name string
	// MaxConns caps the connections open at once, counted from accept
	// (those still waiting for their first bytes included) to Close.
	MaxConns int
	// MaxPerSource caps the connections open at once from one source: an
	// IPv4 address, or an IPv6 /64 (one host's usual allocation). The
	// trusted load balancers are not counted as a source: the clients
	// behind them are.
	MaxPerSource int
	// FirstByteTimeout is the time from accept within which a connection
	// must send its first bytes (or, from a trusted balancer, its PROXY
	// header). The handler's own deadlines start when it gets the
	// connection.
	FirstByteTimeout time.Duration
	// Grace is how long Shutdown lets open connections go on reading.
	Grace time.Duration
	// TrustedProxies are the load balancers (see ParseSources). A
	// connection from one of them must begin with a PROXY header (v1 or
	// v2), else it is closed. From any other source nothing is read by
	// the Listener: a PROXY header is then the protocol's own bytes, and
	// the server refuses them as it refuses any unknown request.
	TrustedProxies []netip.Prefix
	// Log gets the warnings (accept errors, caps reached, bad PROXY
	// headers), each begun with Name, at most one a second for each kind,
	// with how many were left out: a flood must not become a flood of
	// lines. Nil: no warnings.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxPerSource <= 0 {
		c.MaxPerSource = DefaultMaxPerSource
	}
	if c.FirstByteTimeout <= 0 {
		c.FirstByteTimeout = DefaultFirstByteTimeout
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.Name == "" {
		c.Name = "listen"
	}
	if c.Log == nil {
		c.Log = logging.Discard()
	}
	return c
}

// Listener admits connections from an underlying net.Listener under the
// limits of its Config. It is a net.Listener itself; the connections it
// returns are *Conn.
type Listener struct {
	inner net.Listener
	cfg   Config

	slots chan struct{} // one token per open connection: the MaxConns cap
	ready chan *Conn    // admitted connections on their way to Accept
	done  chan struct{} // closed by Close

	start    sync.Once
	loopDone chan struct{} // closed when the accept loop has returned
	stop     sync.Once
	// handle is Serve's function, set before the accept loop starts (nil
	// under Accept): the admitting goroutine runs it itself.
	handle func(net.Conn)

	// open counts the connections holding a slot, handlers the goroutines
	// of Serve: Shutdown waits for both.
	open     sync.WaitGroup
	handlers sync.WaitGroup

	// cut is the read deadline no connection may go past once Shutdown
	// has begun (nil before).
	cut atomic.Pointer[time.Time]

	mu       sync.Mutex
	closed   bool
	sources  map[netip.Addr]int    // open connections per source key
	pending  map[net.Conn]struct{} // accepted, not yet admitted
	live     map[*Conn]struct{}    // admitted, not yet closed
	warnings map[string]*throttle
}

// New returns a Listener that admits the connections of inner under
// cfg's limits. It starts accepting at the first Accept (or Serve), so
// that a server can take its port before it is ready to serve.
func New(inner net.Listener, cfg Config) *Listener {
	cfg = cfg.withDefaults()
	return &Listener{
		inner:    inner,
		cfg:      cfg,
		slots:    make(chan struct{}, cfg.MaxConns),
		ready:    make(chan *Conn),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		sources:  make(map[netip.Addr]int),
		pending:  make(map[net.Conn]struct{}),
		live:     make(map[*Conn]struct{}),
		warnings: make(map[string]*throttle),
	}
}

// Addr is the underlying listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Accept returns the next admitted connection, a *Conn. After Close it
// returns an error wrapping net.ErrClosed. It never returns the
// underlying listener's temporary errors: those are retried inside.
func (l *Listener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.ready:
		if l.isClosed() {
			c.Close()
			break
		}
		return c, nil
	case <-l.done:
	}
	return nil, l.closedErr()
}

// closedErr is what Accept and Serve return once the Listener is closed.
func (l *Listener) closedErr() error {
	return &net.OpError{Op: "accept", Net: l.inner.Addr().Network(), Addr: l.inner.Addr(), Err: net.ErrClosed}
}

// Serve calls handle for every admitted connection, each in its own
// goroutine, and closes the connection when handle returns. It returns
// when the Listener is closed (always with an error wrapping
// net.ErrClosed); Shutdown waits for the handlers.
//
// The goroutine that admitted a connection runs handle itself: no second
// goroutine, no hand-over through Accept. A Listener already accepting
// (Accept called first) serves through Accept instead.
func (l *Listener) Serve(handle func(net.Conn)) error {
	started := false
	l.start.Do(func() {
		l.handle = handle
		started = true
		go l.acceptLoop()
	})
	if started {
		<-l.done
		return l.closedErr()
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		l.handlers.Add(1)
		go l.serveConn(c.(*Conn), handle)
	}
}

// serveConn runs handle on c and closes c. The caller has added c to
// l.handlers while c still held its slot, so before Shutdown's wait for
// the slots could end: the wait for the handlers that follows it sees c.
func (l *Listener) serveConn(c *Conn, handle func(net.Conn)) {
	defer l.handlers.Done()
	defer c.Close()
	handle(c)
}

// Close stops accepting: it closes the underlying listener and the
// connections that have not sent their first bytes yet (they have no
// request to be answered). Admitted connections stay open: see Shutdown.
func (l *Listener) Close() error {
	var err error
	l.stop.Do(func() {
		l.mu.Lock()
		l.closed = true
		for c := range l.pending {
			c.Close() // their admit goroutines release the slots
		}
		l.mu.Unlock()
		close(l.done)
		err = l.inner.Close()
		// A loop never started has nothing to wait for.
		l.start.Do(func() { close(l.loopDone) })
		<-l.loopDone
	})
	return err
}

// Shutdown stops accepting (Close), sets every open connection's read
// deadline to Grace from now (a deadline set later cannot go past it),
// and waits until every connection is closed and every Serve handler has
// returned. When ctx ends first, it closes the connections still open,
// waits for the handlers and returns ctx's error: with a ctx already
// done, Shutdown aborts everything at once. Otherwise it returns the
// underlying listener's close error (nil when Close had already run).
func (l *Listener) Shutdown(ctx context.Context) error {
	closeErr := l.Close()
	cut := time.Now().Add(l.cfg.Grace)
	l.cut.Store(&cut)
	for _, c := range l.liveConns() {
		c.clampRead(cut)
	}
	all := make(chan struct{})
	go func() {
		l.open.Wait()
		l.handlers.Wait()
		close(all)
	}()
	select {
	case <-all:
		return closeErr
	case <-ctx.Done():
	}
	for _, c := range l.liveConns() {
		c.Close()
	}
	<-all
	return ctx.Err()
}

func (l *Listener) liveConns() []*Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	cs := make([]*Conn, 0, len(l.live))
	for c := range l.live {
		cs = append(cs, c)
	}
	return cs
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// acceptLoop takes a slot, then accepts until a connection takes it.
func (l *Listener) acceptLoop() {
	defer close(l.loopDone)
	var backoff time.Duration
	for {
		select {
		case l.slots <- struct{}{}:
		default:
			// At the cap, a connection idle between requests (SetIdle)
			// makes room: its client reconnects when it needs to, while a
			// new one would otherwise wait for it to time out.
			if c := l.oldestIdle(); c != nil {
				c.Close()
				l.warn("reclaim", "%d connections open (the cap); closing idle ones to make room", l.cfg.MaxConns)
			} else {
				l.warn("max-conns", "%d connections open (the cap); new ones wait in the listen backlog", l.cfg.MaxConns)
			}
			select {
			case l.slots <- struct{}{}:
			case <-l.done:
				return
			}
		}
		for {
			raw, err := l.inner.Accept()
			if err != nil {
				if l.isClosed() || errors.Is(err, net.ErrClosed) {
					<-l.slots
					return
				}
				// Out of file descriptors and the like: wait a little,
				// as net/http does, instead of spinning; the connections
				// wait in the backlog meanwhile.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.warn("accept", "accept: %v; retrying in %v", err, backoff)
				select {
				case <-time.After(backoff):
				case <-l.done:
				}
				continue
			}
			backoff = 0
			if l.take(raw) {
				break
			}
			// Refused at once: the slot is still free for the next one.
		}
	}
}

// take starts the admission of a connection just accepted, or refuses it.
// It reports whether the connection took the slot.
func (l *Listener) take(raw net.Conn) bool {
	src := addrOf(raw.RemoteAddr())
	trusted := l.trusted(src)
	key := sourceKey(src)
	// One lock for the closed check, the per-source count and pending:
	// this runs for every connection accepted.
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		raw.Close()
		return false
	}
	if !trusted {
		if n, ok := l.reserveLocked(key); !ok {
			l.mu.Unlock()
			l.warnPerSource(key, n)
			refuse(raw)
			return false
		}
	}
	l.pending[raw] = struct{}{}
	l.open.Add(1)
	l.mu.Unlock()
	go l.admit(raw, key, !trusted, trusted)
	return true
}

// admit waits for the connection's first bytes (or reads its PROXY
// header), then hands it to Accept. counted says whether the source's
// count already holds this connection.
func (l *Listener) admit(raw net.Conn, key netip.Addr, counted, trusted bool) {
	var conn net.Conn = raw
	ok := func() bool {
		raw.SetReadDeadline(time.Now().Add(l.cfg.FirstByteTimeout))
		if !trusted {
			return waitFirstByte(raw) == nil
		}
		// The balancer sends the header as soon as it has connected.
		// go-proxyproto's own header timeout is off: the deadline above
		// covers the header read.
		pc := proxyproto.NewConn(raw, proxyproto.WithPolicy(proxyproto.REQUIRE), proxyproto.SetReadHeaderTimeout(0))
		if pc.ProxyHeader() == nil {
			l.warn("proxy", "%v: a trusted load balancer's connection without a valid PROXY header; closed", raw.RemoteAddr())
			return false
		}
		conn = pc
		// The client behind the balancer is the source that counts. A
		// LOCAL header (a health check) carries none: the balancer's
		// own address stays, which is not counted.
		if real := addrOf(pc.RemoteAddr()); !l.trusted(real) {
			key = sourceKey(real)
			if !l.reserve(key) {
				refuse(raw)
				return false
			}
			counted = true
		}
		return true
	}()
	l.mu.Lock()
	delete(l.pending, raw)
	if !ok || l.closed {
		l.mu.Unlock()
		raw.Close()
		if counted {
			l.unreserve(key)
		}
		l.release()
		return
	}
	c := &Conn{Conn: conn, l: l, key: key, counted: counted}
	l.live[c] = struct{}{}
	if l.handle != nil {
		l.handlers.Add(1) // under l.mu, before Close (see serveConn)
	}
	l.mu.Unlock()
	// The handler sets its own deadlines; until then there is none (or
	// Shutdown's).
	c.SetReadDeadline(time.Time{})
	if l.handle != nil {
		l.serveConn(c, l.handle)
		return
	}
	select {
	case l.ready <- c:
	case <-l.done:
		c.Close()
	}
}

// SetIdle marks c, a connection of this Listener, as idle between two
// requests (idle true) or busy again. At MaxConns the connection idle the
// longest is closed to make room for a new one, so that idle keep-alive
// connections never keep a new client out. net/http reports the states
// through http.Server.ConnState (StateIdle, StateActive).
func (l *Listener) SetIdle(c net.Conn, idle bool) {
	lc, ok := c.(*Conn)
	if !ok || lc.l != l {
		return
	}
	l.mu.Lock()
	if idle {
		lc.idleSince = time.Now()
	} else {
		lc.idleSince = time.Time{}
	}
	l.mu.Unlock()
}

// oldestIdle is the connection idle the longest, or nil.
func (l *Listener) oldestIdle() *Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	var old *Conn
	for c := range l.live {
		if !c.idleSince.IsZero() && (old == nil || c.idleSince.Before(old.idleSince)) {
			old = c
		}
	}
	if old != nil {
		old.idleSince = time.Time{} // closed once, by this caller
	}
	return old
}

// release gives back a connection's slot.
func (l *Listener) release() {
	<-l.slots
	l.open.Done()
}

// reserve counts one more connection from key, unless key is at the cap.
func (l *Listener) reserve(key netip.Addr) bool {
	l.mu.Lock()
	n, ok := l.reserveLocked(key)
	l.mu.Unlock()
	if !ok {
		l.warnPerSource(key, n)
	}
	return ok
}

// reserveLocked is reserve with l.mu held, without the warning: it
// reports the count key had.
func (l *Listener) reserveLocked(key netip.Addr) (int, bool) {
	n := l.sources[key]
	if n >= l.cfg.MaxPerSource {
		return n, false
	}
	l.sources[key] = n + 1
	return n, true
}

func (l *Listener) warnPerSource(key netip.Addr, n int) {
	l.warn("max-per-source", "%v has %d connections open (the per-source cap); new ones from it are closed", key, n)
}

func (l *Listener) unreserve(key netip.Addr) {
	l.mu.Lock()
	if n := l.sources[key]; n <= 1 {
		delete(l.sources, key)
	} else {
		l.sources[key] = n - 1
	}
	l.mu.Unlock()
}

// trusted reports whether a is one of the trusted load balancers.
func (l *Listener) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// refuse closes a connection refused by a cap with a reset: the client
// learns at once, and no TIME_WAIT socket is left behind for each of a
// flood's connections.
func refuse(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// warn logs one warning of a kind, at most one a second: a flood must not
// turn into a flood of lines.
func (l *Listener) warn(kind, format string, args ...any) {
	l.mu.Lock()
	t := l.warnings[kind]
	if t == nil {
		t = &throttle{}
		l.warnings[kind] = t
	}
	now := time.Now()
	if now.Sub(t.last) < time.Second {
		t.skipped++
		l.mu.Unlock()
		return
	}
	skipped := t.skipped
	t.last, t.skipped = now, 0
	l.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if skipped > 0 {
		msg += fmt.Sprintf(" (%d more like it not shown)", skipped)
	}
	l.cfg.Log.Warn(l.cfg.Name + ": " + msg)
}

// throttle is one kind of warning's last time and what it left out since.
type throttle struct {
	last    time.Time
	skipped int
}
