package oncrpc

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// AcceptError is a reply the server accepted but could not execute:
// PROG_UNAVAIL, PROG_MISMATCH (with the supported versions), PROC_UNAVAIL,
// GARBAGE_ARGS or SYSTEM_ERR.
type AcceptError struct {
	Stat      AcceptStat
	Low, High uint32
}

// Error describes the reply.
func (e *AcceptError) Error() string {
	if e.Stat == ProgMismatch {
		return fmt.Sprintf("oncrpc: %v (versions %d..%d)", e.Stat, e.Low, e.High)
	}
	return "oncrpc: " + e.Stat.String()
}

// RejectError is a denied reply: RPC_MISMATCH (with the supported RPC
// versions) or AUTH_ERROR (with its reason).
type RejectError struct {
	Stat      RejectStat
	Low, High uint32
	Auth      AuthStat
}

// Error describes the reply.
func (e *RejectError) Error() string {
	if e.Stat == AuthError {
		return fmt.Sprintf("oncrpc: AUTH_ERROR (auth_stat %d)", e.Auth)
	}
	return fmt.Sprintf("oncrpc: %v (versions %d..%d)", e.Stat, e.Low, e.High)
}

// ErrClientBroken is returned by Call once the connection has failed; the
// caller should Close the client and dial again.
var ErrClientBroken = errors.New("oncrpc: connection failed earlier; dial again")

// Client makes calls over one TCP connection, one at a time. It is safe for
// concurrent use (calls are serialised). A transport error or a timeout
// breaks the client: later calls return ErrClientBroken.
type Client struct {
	// Cred is the credential sent with every call (zero: AUTH_NONE).
	Cred OpaqueAuth

	mu     sync.Mutex
	conn   net.Conn
	rr     *RecordReader
	xid    uint32
	buf    []byte
	broken error
}

// Dial connects to a TCP address within timeout and returns a client.
func Dial(addr string, timeout time.Duration) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return NewClient(c, 0), nil
}

// NewClient returns a client over conn, reading replies of at most
// maxReply bytes (0: DefaultMaxRecordSize).
func NewClient(conn net.Conn, maxReply int) *Client {
	return &Client{
		conn: conn,
		rr:   NewRecordReader(conn, maxReply),
		xid:  uint32(time.Now().UnixNano()),
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Call sends one call with args (already XDR-encoded) and waits for its
// reply until deadline (zero: no deadline). It returns the results (a
// fresh copy), an *AcceptError or *RejectError for an error reply, or a
// transport error, after which the client is broken.
func (c *Client) Call(deadline time.Time, prog, vers, proc uint32, args []byte) ([]byte, error) {
	one := [1][]byte{args}
	_, res, err := c.calls(deadline, prog, vers, proc, one[:])
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), res...), nil
}

// CallMany pipelines calls to one procedure: it sends one call per element
// of args in a single write, then reads the replies, which may come in any
// order, until deadline. It returns how many calls got a successful reply
// and the first error: an *AcceptError or *RejectError for an error reply
// (the other replies are still read), or a transport error, after which the
// client is broken and the calls not counted may or may not have run.
func (c *Client) CallMany(deadline time.Time, prog, vers, proc uint32, args [][]byte) (int, error) {
	ok, _, err := c.calls(deadline, prog, vers, proc, args)
	return ok, err
}

// calls writes one call per element of args in a single write and reads
// their replies. It returns how many succeeded, the results of the last
// success (valid until the next read) and the first error.
func (c *Client) calls(deadline time.Time, prog, vers, proc uint32, args [][]byte) (ok int, last []byte, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return 0, nil, fmt.Errorf("%w (%v)", ErrClientBroken, c.broken)
	}
	first := c.xid + 1
	c.buf = c.buf[:0]
	for _, a := range args {
		c.xid++
		h := CallHeader{XID: c.xid, RPCVers: RPCVersion, Program: prog, Version: vers, Procedure: proc, Cred: c.Cred}
		start := len(c.buf)
		c.buf = AppendCall(beginRecord(c.buf), h, a)
		finishRecord(c.buf[start:])
	}
	c.conn.SetDeadline(deadline)
	if _, err := c.conn.Write(c.buf); err != nil {
		return 0, nil, c.fail(err)
	}
	for pending := len(args); pending > 0; {
		rec, rerr := c.rr.ReadRecord()
		if rerr != nil {
			return ok, nil, c.fail(rerr)
		}
		r, rerr := DecodeReply(rec)
		if rerr != nil {
			return ok, nil, c.fail(rerr)
		}
		if r.XID-first >= uint32(len(args)) {
			continue // a late reply to an earlier call: not ours
		}
		pending--
		switch {
		case r.Stat == MsgDenied:
			rerr = &RejectError{Stat: r.Reject, Low: r.Low, High: r.High, Auth: r.Auth}
		case r.Accept != Success:
			rerr = &AcceptError{Stat: r.Accept, Low: r.Low, High: r.High}
		default:
			ok++
			last = r.Results
		}
		if err == nil {
			err = rerr
		}
	}
	return ok, last, err
}

func (c *Client) fail(err error) error {
	c.broken = err
	c.conn.Close()
	return err
}
