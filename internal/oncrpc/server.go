package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"p2p/internal/listen"
	"p2p/internal/logging"
)

// ErrGarbageArgs is returned by a Handler whose arguments do not decode;
// the server answers GARBAGE_ARGS.
var ErrGarbageArgs = errors.New("oncrpc: cannot decode arguments")

// CallInfo describes the call a Handler serves.
type CallInfo struct {
	Header CallHeader
	Remote net.Addr
}

// Handler serves one procedure: it decodes args (the call's XDR arguments,
// valid only during the call), does the work, and appends its XDR-encoded
// results to res, returning the extended slice (res unchanged for void).
// Returning ErrGarbageArgs (possibly wrapped) gives a GARBAGE_ARGS reply;
// any other error a SYSTEM_ERR reply.
type Handler func(call *CallInfo, args []byte, res []byte) ([]byte, error)

// Server limits' defaults.
const (
	DefaultMaxConns     = 4096
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxPerSource: a central server keeps one connection to its
	// log server; 64 leave room for many on one host and for benchmarks.
	DefaultMaxPerSource = listen.DefaultMaxPerSource
	// DefaultFirstByteTimeout: a client calls as soon as it has
	// connected (the central server's logger dials when it has entries).
	DefaultFirstByteTimeout = listen.DefaultFirstByteTimeout
)

// Server answers ONC RPC calls over TCP with record marking. Register the
// programs, then call Serve. Each connection carries any number of calls,
// answered in order; connections are served concurrently. A connection that
// breaks the framing (a record over MaxRecordSize, a stream cut inside a
// record, a message that is not a call) is closed; others go on.
type Server struct {
	// MaxRecordSize bounds one call record (0: DefaultMaxRecordSize).
	MaxRecordSize int
	// MaxConns bounds the connections open at once (0:
	// DefaultMaxConns); more wait in the listen backlog.
	MaxConns int
	// MaxPerSource bounds the connections open at once from one address
	// (0: DefaultMaxPerSource); more are reset at once, so that one
	// address cannot take every connection.
	MaxPerSource int
	// FirstByteTimeout closes a new connection that has not begun its
	// first call within it (0: DefaultFirstByteTimeout); IdleTimeout
	// applies after that call.
	FirstByteTimeout time.Duration
	// IdleTimeout closes a connection with no call started for that long
	// (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// ReadTimeout bounds reading the rest of a record once it has begun,
	// and WriteTimeout writing a reply (0: the defaults).
	ReadTimeout, WriteTimeout time.Duration
	// Log gets one warning per connection closed on an error and per
	// procedure that failed, and the listener's (caps reached, accept
	// errors). Nil: lines on os.Stderr, so that a server's errors are not
	// lost by default.
	Log *slog.Logger

	mu        sync.Mutex
	progs     map[uint32]*program
	listeners map[*listen.Listener]struct{}
	closed    bool
}

type program struct {
	versions map[uint32]map[uint32]Handler
	low      uint32
	high     uint32
}

// Register adds (or replaces) version vers of program prog with its
// procedures. Procedure 0 (NULL) is answered with an empty result unless
// procs gives a handler for it.
func (s *Server) Register(prog, vers uint32, procs map[uint32]Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progs == nil {
		s.progs = make(map[uint32]*program)
	}
	p := s.progs[prog]
	if p == nil {
		p = &program{versions: make(map[uint32]map[uint32]Handler)}
		s.progs[prog] = p
	}
	m := make(map[uint32]Handler, len(procs)+1)
	m[0] = nullProc
	for n, h := range procs {
		m[n] = h
	}
	p.versions[vers] = m
	vs := make([]uint32, 0, len(p.versions))
	for v := range p.versions {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	p.low, p.high = vs[0], vs[len(vs)-1]
}

func nullProc(_ *CallInfo, _ []byte, res []byte) ([]byte, error) { return res, nil }

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("oncrpc: server closed")

// Serve accepts connections on l until Close, serving each in its own
// goroutine, under the limits of the Server (see package listen). It
// always returns a non-nil error.
func (s *Server) Serve(l net.Listener) error {
	ln := listen.New(l, listen.Config{
		Name:             "oncrpc",
		MaxConns:         orInt(s.MaxConns, DefaultMaxConns),
		MaxPerSource:     orInt(s.MaxPerSource, DefaultMaxPerSource),
		FirstByteTimeout: orDefault(s.FirstByteTimeout, DefaultFirstByteTimeout),
		Log:              s.logger(),
	})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[*listen.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	ln.Serve(s.ServeConn)
	return ErrServerClosed
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the listeners, lets each connection finish sending the call
// it is sending (listen.DefaultGrace) and answers it, then waits for the
// connection goroutines to end. The listeners of Serve are closed, but
// not connections given to ServeConn directly. It returns the listeners'
// close errors, joined.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, 0, len(ls))
	var emu sync.Mutex
	for l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Shutdown(context.Background()); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ServeConn serves the calls of one connection until it ends, then closes
// it.
func (s *Server) ServeConn(c net.Conn) {
	defer c.Close()
	idle := orDefault(s.IdleTimeout, DefaultIdleTimeout)
	readT := orDefault(s.ReadTimeout, DefaultReadTimeout)
	writeT := orDefault(s.WriteTimeout, DefaultWriteTimeout)
	rr := NewRecordReader(c, s.MaxRecordSize)
	rr.Started = func() { c.SetReadDeadline(time.Now().Add(readT)) }
	info := CallInfo{Remote: c.RemoteAddr()}
	out := make([]byte, 0, 256)
	for {
		// Waiting for a call may last IdleTimeout; once a record has
		// begun it must arrive within ReadTimeout. When the next record
		// is already buffered, the deadline set for the last one stands.
		if rr.Buffered() == 0 {
			c.SetReadDeadline(time.Now().Add(idle))
		}
		rec, err := rr.ReadRecord()
		if err != nil {
			s.flush(c, out, writeT, &info) // replies to a burst before a bad record
			if err != io.EOF && !s.isClosed() {
				s.logf("oncrpc: %v: closing connection: %v", info.Remote, err)
			}
			return
		}
		start := len(out)
		out, err = s.dispatch(&info, rec, beginRecord(out))
		if err != nil {
			s.flush(c, out[:start], writeT, &info)
			s.logf("oncrpc: %v: closing connection: %v", info.Remote, err)
			return
		}
		finishRecord(out[start:])
		// Pipelined calls: while the next call is already here, answer
		// it too before writing, so that a burst costs one write.
		if len(out) < maxGatheredReplies && rr.RecordBuffered() {
			continue
		}
		if !s.flush(c, out, writeT, &info) {
			return
		}
		out = out[:0]
		if cap(out) > maxKeptReplyBuffer {
			out = make([]byte, 0, 256) // do not keep one big reply's buffer
		}
	}
}

// Replies to pipelined calls are gathered into one write up to
// maxGatheredReplies bytes; a connection's reply buffer grown past
// maxKeptReplyBuffer (by a big reply) is let go after the write.
const (
	maxGatheredReplies = 16 << 10
	maxKeptReplyBuffer = 64 << 10
)

// flush writes the replies gathered in out; false means the connection
// failed.
func (s *Server) flush(c net.Conn, out []byte, writeT time.Duration, info *CallInfo) bool {
	if len(out) == 0 {
		return true
	}
	c.SetWriteDeadline(time.Now().Add(writeT))
	if _, err := c.Write(out); err != nil {
		if !s.isClosed() {
			s.logf("oncrpc: %v: closing connection: %v", info.Remote, err)
		}
		return false
	}
	return true
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// dispatch decodes one call record and appends the reply to out (which
// already holds the reply's record header). An error means the connection
// must be closed (the record is not a call we can answer); out is then
// returned unchanged.
func (s *Server) dispatch(info *CallInfo, rec []byte, out []byte) ([]byte, error) {
	h, args, err := DecodeCall(rec)
	if err != nil {
		if errors.Is(err, ErrNotCall) || len(rec) < 8 {
			return out, err
		}
		// A call too short or with an oversize credential: say so.
		return AppendAuthError(out, h.XID, AuthBadCred), nil
	}
	if h.RPCVers != RPCVersion {
		return AppendRPCMismatch(out, h.XID), nil
	}
	if why := checkAuth(&h); why != AuthOK {
		return AppendAuthError(out, h.XID, why), nil
	}
	s.mu.Lock()
	p := s.progs[h.Program]
	var procs map[uint32]Handler
	var low, high uint32
	if p != nil {
		procs, low, high = p.versions[h.Version], p.low, p.high
	}
	s.mu.Unlock()
	switch {
	case p == nil:
		return AppendAcceptedReply(out, h.XID, ProgUnavail, 0, 0, nil), nil
	case procs == nil:
		return AppendAcceptedReply(out, h.XID, ProgMismatch, low, high, nil), nil
	}
	proc := procs[h.Procedure]
	if proc == nil {
		return AppendAcceptedReply(out, h.XID, ProcUnavail, 0, 0, nil), nil
	}
	info.Header = h
	start := len(out)
	res, err := proc(info, args, appendAcceptedHeader(out, h.XID, Success))
	switch {
	case errors.Is(err, ErrGarbageArgs):
		return AppendAcceptedReply(out[:start], h.XID, GarbageArgs, 0, 0, nil), nil
	case err != nil:
		s.logf("oncrpc: %v: program %d version %d procedure %d: %v", info.Remote, h.Program, h.Version, h.Procedure, err)
		return AppendAcceptedReply(out[:start], h.XID, SystemErr, 0, 0, nil), nil
	}
	return res, nil
}

// logf warns with a line formatted by fmt.Sprintf: the messages are the
// ones operators read before, without structure of their own.
func (s *Server) logf(format string, args ...any) {
	s.logger().Warn(fmt.Sprintf(format, args...))
}

// logger is s.Log, or the os.Stderr one when it is nil.
func (s *Server) logger() *slog.Logger {
	if s.Log == nil {
		return stderrLog
	}
	return s.Log
}

// stderrLog is the logger of a Server given none.
var stderrLog = logging.New(os.Stderr, "")

// String describes the server's limits, for a start-up line.
func (s *Server) String() string {
	return fmt.Sprintf("max record %d bytes, max %d connections, %d per source, first-byte timeout %v, idle timeout %v",
		orInt(s.MaxRecordSize, DefaultMaxRecordSize),
		orInt(s.MaxConns, DefaultMaxConns), orInt(s.MaxPerSource, DefaultMaxPerSource),
		orDefault(s.FirstByteTimeout, DefaultFirstByteTimeout), orDefault(s.IdleTimeout, DefaultIdleTimeout))
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
