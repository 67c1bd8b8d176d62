// Package shell is the interactive peer of PROTOCOL.md §7: it parses a
// command line, asks the web service for the datetime, talks to the central
// server (§2) or to another peer (§3, through package peer), prints the
// lines of the contract and keeps the client's JSON files.
//
// stdout carries only the lines of the contract: the datetime line, the
// result line, list lines (one tab first) and nothing else. Reasons,
// warnings, usage messages, HELP and progress go to stderr.
package shell

import (
	"context"
	"io"
	"sync"
	"time"

	"p2p/internal/peer"
)

// Clock is the web service as the shell needs it: datetime.Client.
type Clock interface {
	Now(ctx context.Context) (string, error)
}

// Config is what a Shell needs. Server and Clock are required.
type Config struct {
	// Server is the central server, host:port.
	Server string
	// Clock gives the datetime of every request (the web service).
	Clock Clock
	// Dir is the working directory: the JSON files, published files with
	// relative names and downloads with relative names live there. Empty
	// means the process's working directory.
	Dir string
	// ListenAddr is where CONNECT opens the GET_FILE listener; empty means
	// every IPv4 interface on an ephemeral port (":0").
	ListenAddr string
	// Stdout and Stderr receive the contract's lines and everything else.
	Stdout, Stderr io.Writer
	// Timeout bounds the web service call and each exchange with the
	// central server; zero means DefaultTimeout.
	Timeout time.Duration
	// Download tunes GET_FILE's downloads and Serve the GET_FILE listener
	// (zero values: the defaults of package peer; an unset Serve.Logf
	// writes the listener's messages to Stderr).
	Download peer.DownloadConfig
	Serve    peer.ServerConfig
	// Progress shows a progress line on Stderr for downloads that take
	// more than a moment (the client sets it when stderr is a terminal).
	Progress bool
}

// DefaultTimeout bounds one exchange with the central server.
const DefaultTimeout = 10 * time.Second

// Shell runs the commands of one client. Exec may be called from one
// goroutine at a time; the listener runs beside it.
type Shell struct {
	cfg Config
	out *console

	// connected is the user this client is connected as ("" when none);
	// named is the last user a REGISTER, UNREGISTER, CONNECT or
	// DISCONNECT named. Requests carry connected, else named (§7).
	connected, named string
	listener         *peer.Server
	files            *peer.Catalog
}

// New returns a shell. It opens nothing until CONNECT.
func New(cfg Config) *Shell {
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = ":0"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	s := &Shell{cfg: cfg, out: &console{stdout: cfg.Stdout, stderr: cfg.Stderr}}
	s.files = peer.NewCatalog(cfg.Dir)
	return s
}

// User is the username requests carry now: the connected user, else the
// last one named.
func (s *Shell) User() string {
	if s.connected != "" {
		return s.connected
	}
	return s.named
}

// Connected is the user this client is connected as, "" when none.
func (s *Shell) Connected() string { return s.connected }

// ListenerAddr is the GET_FILE listener's address, "" when not connected.
func (s *Shell) ListenerAddr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// console serialises every write, so that the listener's messages and the
// command's lines never interleave mid-line. In a terminal, stderr is the
// line editor's writer, which redraws the prompt around the message.
type console struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
}

func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.stdout, s+"\n")
}

func (c *console) errline(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.stderr, s+"\n")
}

// raw writes to stderr as is (progress lines that rewrite themselves).
func (c *console) raw(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.stderr, s)
}

// SetStderr replaces the stderr writer (the terminal front end installs the
// line editor's writer once it exists).
func (s *Shell) SetStderr(w io.Writer) {
	s.out.mu.Lock()
	s.out.stderr = w
	s.out.mu.Unlock()
}

// closeListener stops serving files and forgets the published list.
func (s *Shell) closeListener() {
	if s.listener != nil {
		s.listener.Close()
		s.listener = nil
	}
	s.files.Reset()
}
