// Package shell is the interactive peer of PROTOCOL.md §7: it parses a
// command line, asks the web service for the datetime, talks to the central
// server (§2) or to another peer (§3, through package peer), prints the
// lines of the contract and keeps the client's JSON files.
//
// stdout carries only the lines of the contract: the datetime line, the
// result line, list lines (one tab first) and nothing else. Reasons,
// warnings, usage messages, HELP and progress go to stderr. Every value
// another party chose (usernames, filenames, descriptions, addresses, the
// web service's datetime, names in a peer's request) is shown through
// package show on both (§7 "Showing values").
package shell

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"p2p/internal/peer"
	"p2p/internal/show"
	"p2p/internal/tempfile"
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
	// (zero values: the defaults of package peer; an unset Serve.Log
	// writes the listener's messages to Stderr as "peer: ..." lines,
	// through the console, so that they never tear the prompt or the
	// progress line).
	Download peer.DownloadConfig
	Serve    peer.ServerConfig
	// Interrupt, read by RunTerminal only, carries the SIGINTs of Ctrl-C
	// pressed while a command runs: each cancels that command (see
	// RunTerminal). Nil: none.
	Interrupt <-chan os.Signal
	// Progress shows a progress line on Stderr for downloads that take
	// more than a moment (the client sets it when stderr is a terminal).
	Progress bool
	// HistoryFile, read by RunTerminal only, is where the lines typed are
	// kept across sessions (the last HistoryLimit of them); empty: no
	// file, the history lasts as long as the session. RunPipe never
	// writes it.
	HistoryFile string
}

// DefaultTimeout bounds one exchange with the central server.
const DefaultTimeout = 10 * time.Second

// Shell runs the commands of one client. Exec may be called from one
// goroutine at a time; the listener runs beside it.
type Shell struct {
	cfg Config
	out *console

	// sessions are the users this client is connected as, in the order
	// they connected (empty when none): the last is the current one.
	// named is the last user a REGISTER, UNREGISTER, CONNECT or
	// DISCONNECT named. Requests carry the current user, else named (§7).
	sessions []*session
	named    string

	// names is what tab completion offers (complete.go).
	names *names
}

// session is a user this client is connected as: the GET_FILE listener
// its CONNECT opened (§7) and the published list that listener serves, so
// that a peer at this user's address gets only this user's files (§3).
type session struct {
	user  string
	ln    *peer.Server
	files *peer.Catalog
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
	return &Shell{cfg: cfg, out: &console{stdout: cfg.Stdout, stderr: cfg.Stderr}, names: newNames(cfg.Dir)}
}

// RemoveStaleTemp removes, from the working directory, the temporary files
// (downloads on their way, JSON files being rewritten) that a client which
// crashed or was killed left behind; those of clients still running, here
// or on another host sharing the folder, stay (package tempfile). The
// client calls it once at start.
func (s *Shell) RemoveStaleTemp() {
	removed, err := tempfile.RemoveStale(s.cfg.Dir)
	for _, name := range removed {
		s.out.errline("removed " + show.Quoted(name) + ", left by a client that ended mid-write")
	}
	if err != nil {
		s.out.errline("warning: looking for leftover temporary files: " + err.Error())
	}
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
	if len(s.sessions) == 0 {
		return ""
	}
	return s.sessions[len(s.sessions)-1].user
}

// ConnectedUsers are the users this client is connected as, in the order
// they connected.
func (s *Shell) ConnectedUsers() []string {
	users := make([]string, len(s.sessions))
	for i, c := range s.sessions {
		users[i] = c.user
	}
	return users
}

// sessionOf returns u's session, nil when this client is not connected as u.
func (s *Shell) sessionOf(u string) *session {
	for _, c := range s.sessions {
		if c.user == u {
			return c
		}
	}
	return nil
}

// ListenerAddr is the current user's GET_FILE listener address, "" when
// not connected.
func (s *Shell) ListenerAddr() string {
	if len(s.sessions) == 0 {
		return ""
	}
	return s.sessions[len(s.sessions)-1].ln.Addr().String()
}

// console serialises every write, so that the listener's messages and the
// command's lines never interleave mid-line. In a terminal, stderr is the
// line editor's writer, which redraws the prompt around the message.
//
// A status line (the download's progress) may be shown at the bottom of
// stderr: any other write erases it first and draws it again after, so
// that a listener's message during a download gets a line of its own.
type console struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
	st             string // the status line shown, "" for none
}

func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLocked(c.stdout, []byte(s+"\n"))
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// writeLocked writes b to w around the status line.
func (c *console) writeLocked(w io.Writer, b []byte) {
	if c.st != "" {
		io.WriteString(c.stderr, clearLine)
	}
	w.Write(b)
	if c.st != "" {
		io.WriteString(c.stderr, c.st)
	}
}

// status draws s as the status line in place of the one shown; "" erases
// it.
func (c *console) status(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st = s
	io.WriteString(c.stderr, clearLine+s)
}

// errline writes a message to stderr. Messages name values that others
// chose (a peer's request, a server's answer), so each of its lines is
// shown by package show: whatever a value holds, it cannot add a line or
// reach the terminal. (Value-level escaping where a message is built is
// kept too: show is idempotent.)
func (c *console) errline(s string) {
	var b []byte
	for l := range strings.Lines(s) {
		l, nl := strings.CutSuffix(l, "\n")
		b = show.Append(b, l)
		if nl {
			b = append(b, '\n')
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLocked(c.stderr, append(b, '\n'))
}

// errWriter is the console's stderr as an io.Writer, for the logger of
// the peer server inside the client: each Write (one line, from package
// logging) becomes an errline, drawn around the status line under the
// console's lock.
type errWriter struct{ c *console }

func (w errWriter) Write(p []byte) (int, error) {
	w.c.errline(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// lines batches stdout lines (a long list) into few writes; each batch is
// written whole, under the console's lock.
func (c *console) lines() *lineBatch { return &lineBatch{c: c} }

type lineBatch struct {
	c *console
	b []byte
}

// record adds the line of one list record (§7): a tab, then the values
// shown (package show) and separated by spaces, the last one in double
// quotes when described (a description). It is built in the batch itself,
// with no string per line.
func (l *lineBatch) record(described bool, values ...string) {
	l.b = append(l.b, '\t')
	for i, v := range values {
		if i > 0 {
			l.b = append(l.b, ' ')
		}
		last := described && i == len(values)-1
		if last {
			l.b = append(l.b, '"')
		}
		l.b = show.Append(l.b, v)
		if last {
			l.b = append(l.b, '"')
		}
	}
	l.end()
}

func (l *lineBatch) end() {
	l.b = append(l.b, '\n')
	if len(l.b) >= 64<<10 {
		l.flush()
	}
}

func (l *lineBatch) flush() {
	if len(l.b) == 0 {
		return
	}
	l.c.mu.Lock()
	l.c.writeLocked(l.c.stdout, l.b)
	l.c.mu.Unlock()
	l.b = l.b[:0]
}

// setStderr replaces the stderr writer (the terminal front end installs the
// line editor's writer once it exists).
func (s *Shell) setStderr(w io.Writer) {
	s.out.mu.Lock()
	s.out.stderr = w
	s.out.mu.Unlock()
}

// connectedAs records a CONNECT OK of c's user: it becomes the current
// user, with an empty published list.
func (s *Shell) connectedAs(c *session) {
	c.files.Reset()
	s.sessions = append(slices.DeleteFunc(s.sessions, func(x *session) bool { return x == c }), c)
}

// disconnected records that the server no longer counts u as connected
// from here: u's listener closes.
func (s *Shell) disconnected(u string) {
	s.sessions = slices.DeleteFunc(s.sessions, func(c *session) bool {
		if c.user == u {
			c.ln.Close()
			return true
		}
		return false
	})
}

// closeListeners closes every user's listener and forgets the sessions.
func (s *Shell) closeListeners() {
	for _, c := range s.sessions {
		c.ln.Close()
	}
	s.sessions = nil
}
