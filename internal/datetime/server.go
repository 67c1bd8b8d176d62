package datetime

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"time"
)

// Config holds the limits ws-server runs the handler with. The zero value of
// a field means its default (DefaultConfig).
type Config struct {
	MaxHeaderBytes    int           // request line and headers
	MaxBodyBytes      int64         // SOAP request body
	ReadHeaderTimeout time.Duration // from accept (or the last answer) to the end of the headers
	ReadTimeout       time.Duration // whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer
	IdleTimeout       time.Duration // keep-alive connection waiting for its next request
	ShutdownTimeout   time.Duration // how long a graceful stop waits for calls in progress
	ErrorLog          *log.Logger   // net/http's complaints; nil means the log package's
}

// DefaultConfig returns the limits ws-server uses unless told otherwise.
// A datetime call is a few hundred bytes answered in microseconds, so the
// limits are tight; idle keep-alive connections (the peers') may stay a minute.
func DefaultConfig() Config {
	return Config{
		MaxHeaderBytes:    16 << 10,
		MaxBodyBytes:      DefaultMaxBodyBytes,
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
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	return c
}

// NewServer returns an http.Server running the service with cfg's limits.
func NewServer(cfg Config) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:           &Handler{MaxBodyBytes: cfg.MaxBodyBytes},
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          cfg.ErrorLog,
	}
}

// Serve runs the service on ln until ctx is done, then stops gracefully:
// it stops accepting, lets calls in progress finish (up to
// cfg.ShutdownTimeout, then closes what is left) and returns nil. It returns
// an error only when serving fails on its own.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	cfg = cfg.withDefaults()
	srv := NewServer(cfg)
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
