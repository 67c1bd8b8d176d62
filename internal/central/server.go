// Package central is the central directory server of PROTOCOL.md §2 and §4:
// it accepts TCP connections, reads one request from each (under a
// deadline), asks the directory, writes the reply, prints the console line
// and hands the request to the RPC log of §6.
//
// The walk of one request: listen.Listener (accept, caps, first bytes,
// PROXY header) → Server.serveConn (deadline, wire.ReadRequest, console
// line) → Server.answer (directory call, reply budget) → reply.writeTo →
// OpLog.Log.
package central

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"p2p/internal/directory"
	"p2p/internal/listen"
	"p2p/internal/logging"
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
	// Log gets the warnings: accept errors, caps reached, bad PROXY
	// headers, at most one line a second of each. Nil: lines on
	// os.Stderr, so that a server run without one still says why it
	// refuses connections.
	Log *slog.Logger
	// OpLog receives every request that parses, after its reply is
	// written: the log of operations of §6, not warnings (default: one
	// that drops them).
	OpLog OpLogger
	// MaxConns caps the connections open at once; more wait in the
	// listen backlog (default DefaultMaxConns).
	MaxConns int
	// MaxPerSource caps the connections open at once from one client
	// address; more are reset at once, so that one address cannot fill
	// MaxConns (default DefaultMaxPerSource).
	MaxPerSource int
	// FirstByteTimeout is the time a new connection has to send its
	// first bytes (its PROXY header, from a trusted balancer) before it
	// is closed; ReadTimeout starts after it (default
	// DefaultFirstByteTimeout).
	FirstByteTimeout time.Duration
	// TrustedProxies are the load balancers of -proxy (PROTOCOL.md §4):
	// a connection from one must begin with a PROXY header, and the
	// client address in it is the one CONNECT records. A PROXY header
	// from anyone else is an unknown cop: closed, no reply.
	TrustedProxies []netip.Prefix
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
	DefaultMaxConns     = listen.DefaultMaxConns
	DefaultReadTimeout  = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultStoreTimeout = 5 * time.Second
	// DefaultMaxPerSource: a request takes milliseconds, so even a NAT
	// in front of a whole site rarely has more at once.
	DefaultMaxPerSource = listen.DefaultMaxPerSource
	// DefaultFirstByteTimeout: a client sends its request as soon as it
	// has connected.
	DefaultFirstByteTimeout = listen.DefaultFirstByteTimeout
	// DefaultReplyBudget: the list records held for replies in flight.
	DefaultReplyBudget = 64 << 20
)

// shutdownGrace is how long Close lets a connection finish sending its
// request (a request already in the socket buffer is read at once).
const shutdownGrace = listen.DefaultGrace

// OpLogger receives one entry per request that parses (PROTOCOL.md §6).
// Log must not block for long: it is called on the request's goroutine,
// after the reply is written.
type OpLogger interface {
	Log(rpclog.Entry)
}

// NopOpLogger is the OpLogger that drops every entry.
type NopOpLogger struct{}

// Log does nothing.
func (NopOpLogger) Log(rpclog.Entry) {}

// Server is a running central server.
type Server struct {
	cfg       Config
	ln        *listen.Listener
	directory *directory.Directory
	console   *console
	budget    *budget
	once      sync.Once
	closeErr  error // Close's, once
}

// Start listens, prints "s> init server <ip>:<port>" and serves in the
// background until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = logging.New(os.Stderr, "")
	}
	if cfg.OpLog == nil {
		cfg.OpLog = NopOpLogger{}
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
		cfg:       cfg,
		directory: cfg.Directory,
		console:   &console{w: cfg.Console},
		budget:    newBudget(cfg.ReplyBudget),
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = Listen(cfg.Addr); err != nil {
			return nil, err
		}
	}
	s.ln = listen.New(ln, listen.Config{
		Name:             "central",
		MaxConns:         cfg.MaxConns,
		MaxPerSource:     cfg.MaxPerSource,
		FirstByteTimeout: cfg.FirstByteTimeout,
		Grace:            shutdownGrace,
		TrustedProxies:   cfg.TrustedProxies,
		Log:              cfg.Log,
	})
	port := ln.Addr().(*net.TCPAddr).Port
	s.console.line("s> init server " + net.JoinHostPort(hostIP(), strconv.Itoa(port)))
	go s.ln.Serve(s.serveConn)
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
// for every request read to be answered. It returns the listener's close
// error, the same one to every call.
func (s *Server) Close() error {
	s.once.Do(func() { s.closeErr = s.ln.Shutdown(context.Background()) })
	return s.closeErr
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

// hostIP returns the address the init line shows: the first IPv4 address
// of an up, non-loopback interface, else 127.0.0.1.
func hostIP() string {
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
