package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ErrNoReply is returned by Client.Do when the server closed the
// connection before a status byte: it refused the request (an unknown or
// malformed one), or it stopped.
var ErrNoReply = errors.New("closed the connection without a reply")

// DefaultTimeout bounds a whole exchange when a Client sets none.
const DefaultTimeout = 10 * time.Second

// Client makes the exchanges of §2: one request on a connection of its
// own, one reply. The zero value is ready to use.
type Client struct {
	// Timeout bounds the dial and the whole exchange (default
	// DefaultTimeout); a context's earlier deadline or cancellation cuts
	// it shorter.
	Timeout time.Duration
	// Idle makes Timeout bound each wait for the server instead of the
	// whole exchange: a long list that keeps coming is read whole.
	Idle bool
	// ReadBuffer is the size of the buffer Do reads the reply through
	// (default bufio's).
	ReadBuffer int
	// LocalAddr, when set, is the address to send from (tests use other
	// loopback addresses than 127.0.0.1 to play other hosts).
	LocalAddr *net.TCPAddr
}

// Do sends req to the central server at addr and reads the status; when
// it is StatusOK and read is set, read takes the rest of the reply (a
// list) before the connection closes. Errors name the server.
func (c *Client) Do(ctx context.Context, addr string, req Request, read func(r io.Reader) error) (Status, error) {
	msg, err := AppendRequest(nil, req)
	if err != nil {
		return 0, err
	}
	return c.DoRaw(ctx, addr, msg, read)
}

// DoRaw is Do for the bytes of a request built by hand (tests of
// malformed input).
func (c *Client) DoRaw(ctx context.Context, addr string, msg []byte, read func(r io.Reader) error) (Status, error) {
	var st Status
	err := c.Send(ctx, addr, msg, func(conn io.Reader) error {
		var r *bufio.Reader
		if c.ReadBuffer > 0 {
			r = bufio.NewReaderSize(conn, c.ReadBuffer)
		} else {
			r = bufio.NewReader(conn)
		}
		var err error
		st, err = ReadStatus(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrNoReply
			}
			return err
		}
		if st == StatusOK && read != nil {
			if err := read(r); err != nil {
				return fmt.Errorf("reading the list: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return st, nil
}

// Send sends msg, the bytes of a request, to the server at addr on a
// connection of its own and hands read the whole reply, status byte
// included, unparsed (a load generator reading each reply to the server's
// close, tests looking at the bytes). Errors name the server.
func (c *Client) Send(ctx context.Context, addr string, msg []byte, read func(r io.Reader) error) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := net.Dialer{Timeout: timeout}
	if c.LocalAddr != nil {
		d.LocalAddr = c.LocalAddr
	}
	nc, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return fmt.Errorf("central server %s: %w", addr, err)
	}
	defer nc.Close()
	conn := &deadlineConn{Conn: nc, timeout: timeout, idle: c.Idle}
	// The deadline first: the cancellation's (in the past) must come
	// after it, never be overwritten by it.
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, conn.cancel)
	defer stop()
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("central server %s: sending: %w", addr, err)
	}
	if err := read(conn); err != nil {
		return fmt.Errorf("central server %s: %w", addr, err)
	}
	return nil
}

// deadlineConn is a connection whose deadline, when idle is set, is
// renewed as data arrives (every read of a bufio.Reader is one fill of
// its buffer), and which cancel cuts for good.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	idle    bool
	mu      sync.Mutex
	cut     bool
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if c.idle {
		c.mu.Lock()
		if !c.cut {
			c.Conn.SetDeadline(time.Now().Add(c.timeout))
		}
		c.mu.Unlock()
	}
	return c.Conn.Read(p)
}

// cancel makes every pending and later I/O fail at once.
func (c *deadlineConn) cancel() {
	c.mu.Lock()
	c.cut = true
	c.Conn.SetDeadline(time.Unix(1, 0))
	c.mu.Unlock()
}
