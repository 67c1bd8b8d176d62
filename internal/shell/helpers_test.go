package shell

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"p2p/internal/central"
	"p2p/internal/datetime"
	"p2p/internal/logging"
	"p2p/internal/testenv"
)

// world is a real central server and a real web service, in process.
type world struct {
	t       *testing.T
	srv     *central.Server
	srvDir  string
	console *testenv.Buffer
	wsURL   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, srvDir: t.TempDir(), console: new(testenv.Buffer)}
	srv, err := central.Start(central.Config{Addr: "127.0.0.1:0", Directory: testenv.CSVDirectory(t, w.srvDir), Console: w.console, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	t.Cleanup(func() { srv.Close() })
	ws := httptest.NewServer(datetime.NewHandler())
	t.Cleanup(ws.Close)
	w.wsURL = ws.URL + "/"
	return w
}

// client is one Shell with its own folder and output buffers.
type client struct {
	t        *testing.T
	name     string
	sh       *Shell
	dir      string
	out, err *testenv.Buffer
	seen     int // lines of out already checked
}

func (w *world) client(name string) *client {
	return w.clientWith(name, datetime.NewClient(w.wsURL))
}

func (w *world) clientWith(name string, clock Clock) *client {
	w.t.Helper()
	c := &client{t: w.t, name: name, dir: w.t.TempDir(), out: new(testenv.Buffer), err: new(testenv.Buffer)}
	c.sh = New(Config{
		Server:     w.srv.Addr().String(),
		Clock:      clock,
		Dir:        c.dir,
		ListenAddr: "127.0.0.1:0",
		Stdout:     c.out,
		Stderr:     c.err,
	})
	w.t.Cleanup(func() { c.sh.closeListeners() })
	return c
}

var dateLine = regexp.MustCompile(`^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$`)

// newLines returns the stdout lines printed since the last call.
func (c *client) newLines() []string {
	all := strings.Split(c.out.String(), "\n")
	all = all[:len(all)-1] // after the last newline
	got := all[c.seen:]
	c.seen = len(all)
	return got
}

// do runs a command and checks it printed the datetime line, then exactly
// want (each a regular expression matched against a whole line).
func (c *client) do(line string, want ...string) {
	c.t.Helper()
	c.sh.Exec(context.Background(), line)
	got := c.newLines()
	if len(got) != 1+len(want) || !dateLine.MatchString(got[0]) {
		c.t.Fatalf("%s: %q printed %q, want a datetime line then %q; stderr: %s", c.name, line, got, want, c.err.String())
	}
	for i, w := range want {
		if !regexp.MustCompile("^" + w + "$").MatchString(got[i+1]) {
			c.t.Errorf("%s: %q: line %d is %q, want /%s/", c.name, line, i+1, got[i+1], w)
		}
	}
}

// doExactly runs a command and checks its whole stdout (no datetime line
// expected: client-side failures, usage errors).
func (c *client) doExactly(line string, want ...string) {
	c.t.Helper()
	c.sh.Exec(context.Background(), line)
	if got := c.newLines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		c.t.Errorf("%s: %q printed %q, want %q", c.name, line, got, want)
	}
}

func (c *client) file(name string) string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

func (c *client) write(name string, data []byte) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, name), data, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) exists(name string) bool {
	_, err := os.Stat(filepath.Join(c.dir, name))
	return err == nil
}

// q quotes s for a line pattern.
func q(s string) string { return regexp.QuoteMeta(s) }
