package datetime

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"p2p/internal/listen"
	"p2p/internal/logging"
)

// Config holds the limits ws-server runs the handler with. The zero value of
// a field means its default (DefaultConfig).
type Config struct {
	// MaxHeaderBytes bounds the request line and headers, blank line
	// included: exactly this many bytes are accepted, one more gets 431.
	// (net/http's own MaxHeaderBytes lets 4096 bytes more through; see
	// NewServer.) At least MinMaxHeaderBytes.
	MaxHeaderBytes int
	MaxBodyBytes   int64 // SOAP request body
	// MaxConns caps the connections open at once, idle keep-alive ones
	// included; more wait in the listen backlog.
	MaxConns int
	// MaxPerSource caps the connections open at once from one address;
	// more are reset at once. With IdleTimeout it keeps one address's idle
	// keep-alive connections from locking everybody else out.
	MaxPerSource int
	// FirstByteTimeout closes a new connection that has not begun its
	// first request within it; ReadHeaderTimeout starts after it.
	FirstByteTimeout time.Duration

	ReadHeaderTimeout time.Duration // from accept (or the last answer) to the end of the headers
	ReadTimeout       time.Duration // whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer
	IdleTimeout       time.Duration // keep-alive connection waiting for its next request
	ShutdownTimeout   time.Duration // how long a graceful stop waits for calls in progress
	// Log gets net/http's complaints (as warnings) and the listener's
	// (caps reached, accept errors). Nil: lines on os.Stderr, so that a
	// server's errors are not lost by default.
	Log *slog.Logger
}

// DefaultConfig returns the limits ws-server uses unless told otherwise.
// A datetime call is a few hundred bytes answered in microseconds, so the
// limits are tight; idle keep-alive connections (the peers') may stay a minute.
//
// Each peer keeps at most one keep-alive connection: 4,096 connections
// serve thousands of peers, and 64 from one address a NAT in front of many
// (or a benchmark's 16 clients); 20,000 idle connections from one address
// took every peer offline before these caps.
func DefaultConfig() Config {
	return Config{
		MaxHeaderBytes:    16 << 10,
		MaxBodyBytes:      DefaultMaxBodyBytes,
		MaxConns:          4096,
		MaxPerSource:      listen.DefaultMaxPerSource,
		FirstByteTimeout:  listen.DefaultFirstByteTimeout,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ShutdownTimeout:   5 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	fill(&c.MaxHeaderBytes, d.MaxHeaderBytes)
	fill(&c.MaxBodyBytes, d.MaxBodyBytes)
	fill(&c.MaxConns, d.MaxConns)
	fill(&c.MaxPerSource, d.MaxPerSource)
	fill(&c.FirstByteTimeout, d.FirstByteTimeout)
	fill(&c.ReadHeaderTimeout, d.ReadHeaderTimeout)
	fill(&c.ReadTimeout, d.ReadTimeout)
	fill(&c.WriteTimeout, d.WriteTimeout)
	fill(&c.IdleTimeout, d.IdleTimeout)
	fill(&c.ShutdownTimeout, d.ShutdownTimeout)
	if c.Log == nil {
		c.Log = logging.New(os.Stderr, "")
	}
	return c
}

// fill sets *v to def when it is not positive.
func fill[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// headerSlack is what net/http reads beyond Server.MaxHeaderBytes before it
// answers 431 (its "bufio slop": the limit it enforces is MaxHeaderBytes +
// 4096).
const headerSlack = 4096

// MinMaxHeaderBytes is the smallest MaxHeaderBytes net/http can enforce
// exactly: its own limit is at least 1 + headerSlack.
const MinMaxHeaderBytes = headerSlack + 1

// NewServer returns an http.Server running the service with cfg's limits,
// but for the connection caps, which Serve's listener enforces.
func NewServer(cfg Config) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler: &Handler{MaxBodyBytes: cfg.MaxBodyBytes},
		// net/http lets headerSlack more through: ask for that much less,
		// so that the limit is the one configured, to the byte.
		MaxHeaderBytes:    max(cfg.MaxHeaderBytes-headerSlack, 1),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
}

// Serve runs the service on ln until ctx is done, then stops gracefully:
// it stops accepting, lets calls in progress finish (up to
// cfg.ShutdownTimeout, then closes what is left) and returns nil. It returns
// an error only when serving fails on its own.
//
// The connections come through a listen.Listener with cfg's caps: the
// accept loop, its backoff, the caps and the first-bytes deadline are the
// same as every other server's of the project; net/http only serves what
// it is given.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	cfg = cfg.withDefaults()
	srv := NewServer(cfg)
	l := listen.New(ln, listen.Config{
		Name:             "datetime", // the command's logger says "ws-server"
		MaxConns:         cfg.MaxConns,
		MaxPerSource:     cfg.MaxPerSource,
		FirstByteTimeout: cfg.FirstByteTimeout,
		Log:              cfg.Log,
	})
	ln = l
	// At MaxConns an idle keep-alive connection gives its place to a new
	// one: peers that keep connections open cannot lock others out.
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateIdle:
			l.SetIdle(c, true)
		case http.StateActive:
			l.SetIdle(c, false)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err // never http.ErrServerClosed: only Shutdown below closes it
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
