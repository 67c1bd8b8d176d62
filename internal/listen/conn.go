package listen

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Conn is an admitted connection. It is the accepted connection (or, from
// a trusted balancer, go-proxyproto's Conn over it, whose RemoteAddr is
// the client's) with three differences: Close gives back its place under
// the caps; once Shutdown has begun no read deadline goes past the
// shutdown's cut; and it keeps the fast paths of *net.TCPConn (ReadFrom
// for sendfile, WriteTo for splice, CloseWrite).
type Conn struct {
	net.Conn
	l       *Listener
	key     netip.Addr
	counted bool // key's count holds this connection
	// idleSince is when the server said the connection went idle
	// (SetIdle), zero while busy; guarded by l.mu.
	idleSince time.Time

	// mu orders the deadlines the handler sets against Shutdown's cut, so
	// that neither overwrites the other unseen.
	mu     sync.Mutex
	readDL time.Time // the read deadline last asked for
	once   sync.Once
}

// Close closes the connection and gives back its place (once).
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		err = c.Conn.Close()
		c.l.mu.Lock()
		delete(c.l.live, c)
		c.l.mu.Unlock()
		if c.counted {
			c.l.unreserve(c.key)
		}
		c.l.release()
	})
	return err
}

// SetDeadline sets both deadlines; the read one no later than a
// shutdown's cut.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline, no later than a shutdown's cut.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDL = t
	if cut := c.l.cut.Load(); cut != nil && (t.IsZero() || t.After(*cut)) {
		t = *cut
	}
	return c.Conn.SetReadDeadline(t)
}

// clampRead brings the read deadline to cut unless it is earlier already.
func (c *Conn) clampRead(cut time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readDL.IsZero() || c.readDL.After(cut) {
		c.Conn.SetReadDeadline(cut)
	}
}

// ReadFrom is the connection's own when it has one (sendfile from an
// *os.File on a *net.TCPConn).
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// WriteTo is the connection's own when it has one (splice to an *os.File
// from a *net.TCPConn).
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.Conn.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, readerOnly{c.Conn})
}

// CloseWrite shuts down the sending side (a TCP half-close), when the
// connection can.
func (c *Conn) CloseWrite() error {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	if tc, ok := c.Conn.(interface{ TCPConn() (*net.TCPConn, bool) }); ok {
		if t, ok := tc.TCPConn(); ok {
			return t.CloseWrite()
		}
	}
	return errors.ErrUnsupported
}

// writerOnly and readerOnly hide every method but Write or Read, so that
// io.Copy does not come back to ReadFrom or WriteTo.
type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }
