package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"p2p/internal/listen"
	"p2p/internal/logging"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// ServerConfig tunes a Server. Zero values take the defaults.
type ServerConfig struct {
	// RequestTimeout bounds the reading of the request (cop + filename), so
	// an idle or slow connection cannot hold a handler for long.
	RequestTimeout time.Duration
	// IdleTimeout bounds each chunk of the file's transfer.
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once; more wait in the
	// listen backlog (default DefaultMaxConns).
	MaxConns int
	// MaxPerSource caps the connections open at once from one address;
	// more are reset at once (default DefaultMaxPerSource).
	MaxPerSource int
	// FirstByteTimeout closes a new connection that has not begun its
	// request within it (default DefaultFirstByteTimeout); RequestTimeout
	// starts after it.
	FirstByteTimeout time.Duration
	// Log gets one note per file sent and one warning per request that
	// failed, and the listener's warnings. Nil: no output.
	Log *slog.Logger
}

// Server is a peer's GET_FILE listener: it answers GET_FILE and
// GET_FILE_SIZED for the names of its Catalog, each connection in its own
// goroutine, so downloads are served concurrently.
type Server struct {
	ln    *listen.Listener
	files *Catalog
	cfg   ServerConfig
	once  sync.Once
}

// Listen opens a listener on addr (":0" or "127.0.0.1:0" for an ephemeral
// port, IPv4) and starts serving files from it.
func Listen(addr string, files *Catalog, cfg ServerConfig) (*Server, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Log == nil {
		cfg.Log = logging.Discard()
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("GET_FILE listener: %w", err)
	}
	s := &Server{files: files, cfg: cfg}
	s.ln = listen.New(ln, listen.Config{
		Name:             "GET_FILE listener",
		MaxConns:         orInt(cfg.MaxConns, DefaultMaxConns),
		MaxPerSource:     orInt(cfg.MaxPerSource, DefaultMaxPerSource),
		FirstByteTimeout: cfg.FirstByteTimeout, // listen's default when zero
		Log:              cfg.Log,
	})
	go s.ln.Serve(s.serveConn)
	return s, nil
}

// orInt is v, or def when v is not positive.
func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Addr is the listening address.
func (s *Server) Addr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// Port is the listening port, as CONNECT sends it.
func (s *Server) Port() int { return s.Addr().Port }

// Close stops the listener, aborts transfers in progress and waits for every
// handler to return. A sized download cut this way fails on the other side.
func (s *Server) Close() error {
	s.once.Do(func() {
		// A context already done: Shutdown closes every connection at
		// once instead of granting a grace.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s.ln.Shutdown(ctx)
	})
	return nil
}

// logf warns with a line formatted by fmt.Sprintf: the values in it are
// already shown safely (show.Quoted) where the message puts them.
func (s *Server) logf(format string, args ...any) {
	s.cfg.Log.Warn(fmt.Sprintf(format, args...))
}

// conn is what serve needs of a connection beyond net.Conn: the
// half-close of finish (listen.Conn passes it through to *net.TCPConn,
// and ReadFrom too, so the file still goes by sendfile).
type conn interface {
	net.Conn
	CloseWrite() error
}

// serveConn serves one connection (one request); the listener closes nc afterwards.
func (s *Server) serveConn(nc net.Conn) {
	c := nc.(conn)
	who := c.RemoteAddr().String()
	c.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	// The request is at most 33+256 bytes; a small buffer keeps 1,000 idle
	// connections cheap.
	op, name, err := wire.ReadPeerRequest(bufio.NewReaderSize(c, 512))
	switch {
	case errors.Is(err, wire.ErrInvalidField):
		s.logf("GET_FILE from %s: filename field without NUL", who)
		s.writeStatus(c, statusFailed)
		return
	case err != nil:
		// Unknown cop, truncated request, timeout: no reply, as the
		// central server does. Only bad bytes are worth a word: a peer
		// that hung up or went idle is not news.
		if errors.Is(err, wire.ErrMalformed) {
			s.logf("GET_FILE from %s: bad request: %v", who, err)
		}
		return
	}
	f, st, status := s.open(name)
	if status != wire.StatusOK {
		if status == statusNotFound {
			s.logf("%s from %s: %s: not published or not on disk", op, who, show.Quoted(name))
		}
		s.writeStatus(c, status)
		return
	}
	defer f.Close()
	head := wire.AppendStatus(nil, wire.StatusOK)
	// Both kinds send the size fstat gave at open, so a file that grows
	// while it is sent (a log being written) still ends.
	size := st.Size()
	if op == wire.GetFileSized {
		head = wire.AppendSize(head, uint64(size))
	}
	c.SetWriteDeadline(time.Now().Add(s.cfg.IdleTimeout))
	if _, err := c.Write(head); err != nil {
		s.logf("%s from %s: %s: %v", op, who, show.Quoted(name), err)
		return
	}
	n, err := copyChunks(c, f, size, 0, c.SetWriteDeadline, s.cfg.IdleTimeout, nil)
	if op == wire.GetFile && errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // the file shrank: a plain transfer just ends sooner
	}
	if err != nil {
		s.logf("%s from %s: %s: sent %d bytes, then: %v", op, who, show.Quoted(name), n, err)
		return
	}
	s.finish(c)
	s.cfg.Log.Info(fmt.Sprintf("sent %s to %s (%d bytes)", show.Quoted(name), who, n))
}

// Statuses of §3.
var (
	statusNotFound = wire.StatusFor(wire.GetFile, wire.FileNotFound)
	statusFailed   = wire.StatusFor(wire.GetFile, wire.Failed)
)

// open finds and opens a published file: '1' when the name is not published
// or the file is not on disk, '2' for any other error, including a name
// that is not a regular file.
//
// The file is opened without blocking (O_NONBLOCK; O_NOCTTY so that a
// terminal never becomes ours) and checked with fstat on what was opened:
// a FIFO, a device, a socket or a folder is refused at once. A plain open
// of a FIFO with no writer would block this goroutine for good, where no
// deadline reaches it, and Close (so QUIT) would wait for it. It is '2',
// not '1': the name is published and something is there, it is just not
// a file that can be sent; "does not exist" would tell the downloader
// something false.
func (s *Server) open(name string) (*os.File, os.FileInfo, wire.Status) {
	path, ok := s.files.Path(name)
	if !ok {
		return nil, nil, statusNotFound
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, statusNotFound
		}
		s.logf("GET_FILE %s: %v", show.Quoted(name), err)
		return nil, nil, statusFailed
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%v)", path, st.Mode().Type())
	}
	if err != nil {
		f.Close()
		s.logf("GET_FILE %s: %v", show.Quoted(name), err)
		return nil, nil, statusFailed
	}
	return f, st, wire.StatusOK
}

func (s *Server) writeStatus(c conn, st wire.Status) {
	c.SetWriteDeadline(time.Now().Add(s.cfg.IdleTimeout))
	c.Write(wire.AppendStatus(nil, st))
	s.finish(c)
}

// finish half-closes and waits (briefly) for the downloader to close, so
// that the last bytes are not lost to a reset if the downloader sent
// more than its request.
func (s *Server) finish(c conn) {
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	io.CopyN(io.Discard, c, 1<<16)
}
