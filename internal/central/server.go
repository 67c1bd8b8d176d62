// Package central is the central directory server of PROTOCOL.md §2 and §4:
// it accepts TCP connections, reads one request from each (under a
// deadline), asks the directory, writes the reply, prints the console line
// and hands the request to the logger.
//
// The walk of one request: Server.serve (accept, connection cap) →
// Server.handle (deadline, wire.ReadRequest, console line) → Server.answer
// (directory call, reply bytes) → write → Logger.Log.
package central

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"p2p/internal/directory"
	"p2p/internal/rpclog"
)

// Config configures a Server. Zero values take the defaults below.
type Config struct {
	// Addr is the IPv4 TCP address to listen on, e.g. ":8888" or
	// "127.0.0.1:0". Unused when Listener is set.
	Addr string
	// Listener, when set, is the listener to serve (from Listen): a
	// command takes its port before it opens the store, so that a server
	// that cannot have its port never loads the data of one that runs.
	Listener net.Listener
	// Directory is the directory the server answers from (required). The
	// server does not close its store: whoever opened it does, after Close.
	Directory *directory.Directory
	// Console receives the lines of §4 (default os.Stdout). Each line is
	// one Write call, so an unbuffered writer shows it at once.
	Console io.Writer
	// Errors receives warnings: accept errors (default os.Stderr).
	Errors io.Writer
	// Logger receives every request that parses, after its reply is
	// written (default: a logger that does nothing).
	Logger Logger
	// MaxConns caps the connections served at once; more wait in the
	// listen backlog (default DefaultMaxConns).
	MaxConns int
	// ReadTimeout bounds the time to receive a whole request (default
	// DefaultReadTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds the time to send a reply (default
	// DefaultWriteTimeout).
	WriteTimeout time.Duration
	// StoreTimeout bounds the time the directory may take to answer one
	// request, as the deadline of its context (default
	// DefaultStoreTimeout).
	StoreTimeout time.Duration
	// ReplyBudget caps, server-wide, the bytes of list records held for
	// replies in flight (counted at their size on the wire; a list shared
	// by several replies counts once). A LIST_USERS or LIST_CONTENT that
	// cannot get its share before StoreTimeout gets its last code
	// (default DefaultReplyBudget).
	ReplyBudget int64
}

// Defaults of Config.
const (
	DefaultMaxConns     = 1024
	DefaultReadTimeout  = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultStoreTimeout = 5 * time.Second
	DefaultReplyBudget  = 64 << 20
)

// shutdownGrace is how long Close lets a connection finish sending its
// request (a request already in the socket buffer is read at once).
const shutdownGrace = 250 * time.Millisecond

// Logger receives one entry per request that parses (PROTOCOL.md §6). Log
// must not block for long: it is called on the request's goroutine, after
// the reply is written.
type Logger interface {
	Log(rpclog.Entry)
}

// NopLogger is the Logger that drops every entry.
type NopLogger struct{}

// Log does nothing.
func (NopLogger) Log(rpclog.Entry) {}

// Server is a running central server.
type Server struct {
	cfg     Config
	ln      net.Listener
	dir     *directory.Directory
	console *console
	sem     chan struct{}
	budget  *budget
	quit    chan struct{}
	done    chan struct{} // closed when the accept loop has returned

	wg      sync.WaitGroup // connection handlers
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	once    sync.Once
}

// Start listens, prints "s> init server <ip>:<port>" and serves in the
// background until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	if cfg.Errors == nil {
		cfg.Errors = os.Stderr
	}
	if cfg.Logger == nil {
		cfg.Logger = NopLogger{}
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.ReplyBudget <= 0 {
		cfg.ReplyBudget = DefaultReplyBudget
	}
	if cfg.Directory == nil {
		return nil, errors.New("central: no directory")
	}
	s := &Server{
		cfg:     cfg,
		dir:     cfg.Directory,
		console: &console{w: cfg.Console},
		sem:     make(chan struct{}, cfg.MaxConns),
		budget:  newBudget(cfg.ReplyBudget),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		conns:   make(map[net.Conn]struct{}),
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = Listen(cfg.Addr); err != nil {
			return nil, err
		}
	}
	s.ln = ln
	port := ln.Addr().(*net.TCPAddr).Port
	s.console.line("s> init server " + net.JoinHostPort(HostIP(), strconv.Itoa(port)))
	go s.serve()
	return s, nil
}

// Listen opens the server's IPv4 TCP listener on addr.
func Listen(addr string) (net.Listener, error) {
	// No TCP keepalive: a connection lives for one request, under deadlines.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("central: %w", err)
	}
	return ln, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close shuts the server down gracefully: it stops accepting, gives the
// connections still sending their request shutdownGrace to finish, waits
// for every request read to be answered.
func (s *Server) Close() error {
	s.once.Do(func() {
		close(s.quit)
		s.ln.Close()
		<-s.done
		s.mu.Lock()
		s.closing = true
		cut := time.Now().Add(shutdownGrace)
		for c := range s.conns {
			c.SetReadDeadline(cut)
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return nil
}

// serve is the accept loop: one goroutine per connection, at most MaxConns
// at once.
func (s *Server) serve() {
	defer close(s.done)
	var backoff time.Duration
	for {
		select {
		case s.sem <- struct{}{}:
		case <-s.quit:
			return
		}
		conn, err := s.ln.Accept()
		if err != nil {
			<-s.sem
			select {
			case <-s.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little, as
			// net/http does, instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			fmt.Fprintf(s.cfg.Errors, "central: accept: %v; retrying in %v\n", err, backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.wg.Add(1)
		go s.handle(conn)
	}
}

// track registers a connection so that Close can cut its read short. It
// returns false when the server is closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// console writes whole lines, one Write each, one at a time.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) line(l string) {
	c.mu.Lock()
	io.WriteString(c.w, l+"\n")
	c.mu.Unlock()
}

// HostIP returns the address the init line shows: the first IPv4 address
// of an up, non-loopback interface, else 127.0.0.1.
func HostIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip4 := ipn.IP.To4(); ip4 != nil && !ip4.IsLoopback() {
					return ip4.String()
				}
			}
		}
	}
	return "127.0.0.1"
}
