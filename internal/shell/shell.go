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
	"slices"
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

	// connected are the users this client is connected as, in the order
	// they connected (empty when none): the last is the current one.
	// named is the last user a REGISTER, UNREGISTER, CONNECT or
	// DISCONNECT named. Requests carry the current user, else named (§7).
	connected []string
	named     string
	// listener is the one GET_FILE listener of the client, open while a
	// user is connected; it serves served, the union of the published
	// lists of the connected users (lists, by user).
	listener *peer.Server
	lists    map[string]*peer.Catalog
	served   peer.Union
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
	return &Shell{cfg: cfg, out: &console{stdout: cfg.Stdout, stderr: cfg.Stderr}, lists: map[string]*peer.Catalog{}}
}

// User is the username requests carry now: the current user (the most
// recently connected of those still connected), else the last one named.
func (s *Shell) User() string {
	if c := s.Connected(); c != "" {
		return c
	}
	return s.named
}

// Connected is the current user, the most recently connected of the users
// this client is still connected as; "" when none.
func (s *Shell) Connected() string {
	if len(s.connected) == 0 {
		return ""
	}
	return s.connected[len(s.connected)-1]
}

// ConnectedUsers are the users this client is connected as, in the order
// they connected.
func (s *Shell) ConnectedUsers() []string { return slices.Clone(s.connected) }

// isConnected reports whether this client counts u as connected.
func (s *Shell) isConnected(u string) bool { return slices.Contains(s.connected, u) }

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

// connectedAs records a CONNECT OK of u: u becomes the current user, with
// an empty published list that the listener serves from now on.
func (s *Shell) connectedAs(u string) {
	s.dropList(u)
	s.connected = append(slices.DeleteFunc(s.connected, func(x string) bool { return x == u }), u)
	c := peer.NewCatalog(s.cfg.Dir)
	s.lists[u] = c
	s.served.Add(c)
}

// disconnected records that the server no longer counts u as connected:
// u's files stop being served (a name another connected user publishes
// stays), and the listener closes when no user of this client remains.
func (s *Shell) disconnected(u string) {
	s.dropList(u)
	s.connected = slices.DeleteFunc(s.connected, func(x string) bool { return x == u })
	if len(s.connected) == 0 {
		s.closeListener()
	}
}

// dropList stops serving u's published list and forgets it.
func (s *Shell) dropList(u string) {
	if c, ok := s.lists[u]; ok {
		s.served.Remove(c)
		delete(s.lists, u)
	}
}

// closeListener stops serving files and forgets the published lists.
func (s *Shell) closeListener() {
	if s.listener != nil {
		s.listener.Close()
		s.listener = nil
	}
	s.served.Reset()
	clear(s.lists)
}
