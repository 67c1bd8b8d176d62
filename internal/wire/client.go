package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := net.Dialer{Timeout: timeout}
	if c.LocalAddr != nil {
		d.LocalAddr = c.LocalAddr
	}
	conn, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return 0, fmt.Errorf("central server %s: %w", addr, err)
	}
	defer conn.Close()
	// The deadline first: the cancellation's (in the past) must come
	// after it, never be overwritten by it.
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(msg); err != nil {
		return 0, fmt.Errorf("central server %s: sending: %w", addr, err)
	}
	r := bufio.NewReader(conn)
	st, err := ReadStatus(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrNoReply
		}
		return 0, fmt.Errorf("central server %s: %w", addr, err)
	}
	if st == StatusOK && read != nil {
		if err := read(r); err != nil {
			return st, fmt.Errorf("central server %s: reading the list: %w", addr, err)
		}
	}
	return st, nil
}
