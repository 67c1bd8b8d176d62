package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built holds, per test binary, the binaries Build made: one folder for
// all of them, removed by Main.
var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]*buildResult
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the command p2p/cmd/<name>, with extra go build flags
// (such as -race), once per test binary, and returns the binary's path;
// it fails t when the command does not build. Tests of one binary share
// the build, because linking a command takes seconds; Main removes the
// folder when the tests have run.
func Build(t testing.TB, name string, flags ...string) string {
	t.Helper()
	key := strings.Join(append([]string{name}, flags...), " ")
	built.mu.Lock()
	if built.bins == nil {
		built.bins = map[string]*buildResult{}
	}
	r := built.bins[key]
	if r == nil {
		r = &buildResult{}
		built.bins[key] = r
	}
	if built.dir == "" {
		built.dir, r.err = os.MkdirTemp("", "p2p-test-bin-")
	}
	dir := built.dir
	built.mu.Unlock()
	r.once.Do(func() {
		if r.err != nil {
			return
		}
		// One subfolder per build, so that the binary keeps its command's
		// name (usage lines, cluster scripts) whatever its flags.
		sub, err := os.MkdirTemp(dir, name+"-")
		if err != nil {
			r.err = err
			return
		}
		r.path = filepath.Join(sub, name)
		args := append(append([]string{"build"}, flags...), "-o", r.path, "p2p/cmd/"+name)
		cmd := exec.Command("go", args...)
		cmd.Dir = RepoRoot()
		if b, err := cmd.CombinedOutput(); err != nil {
			r.err = fmt.Errorf("go %v: %v\n%s", args, err, b)
		}
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.path
}

// Main runs a package's tests for its TestMain, then stops what testenv
// keeps for the whole test binary (the shared PostgreSQL, the binaries
// Build made) and whatever after stops, and exits with the tests' status.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	stopPostgres()
	built.mu.Lock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	built.mu.Unlock()
	os.Exit(code)
}

// Proc is a program a test runs as a separate process (Start): its output
// is collected in buffers the test reads while it runs, and it is killed
// when the test ends.
type Proc struct {
	// Cmd is the command as started; Cmd.ProcessState is set once it has
	// exited.
	Cmd *exec.Cmd
	// Stdin is the process's standard input; closing it is end of input.
	Stdin io.WriteCloser
	// Stdout and Stderr hold everything the process has written so far.
	Stdout, Stderr *Buffer

	t    testing.TB
	name string
	done chan struct{} // closed once it has exited and its output is in
	err  error         // cmd.Wait's, once done is closed
}

// Start starts cmd, prepared by the caller (path, arguments, Dir, Env,
// SysProcAttr), with a pipe for its stdin and its stdout and stderr
// collected in p.Stdout and p.Stderr (and copied to cmd.Stdout and
// cmd.Stderr too when the caller set them). A stream the caller set to a
// file (os.DevNull for a benchmark's millions of lines, os.Stderr) goes
// there directly and is not collected; a test that reads a stream as it
// comes passes the write end of an os.Pipe so, not cmd.StdoutPipe, which
// the Wait Start begins at once would close when the process exits,
// whatever is still unread. The process gets SIGKILL when
// the test binary dies (so a test killed by its timeout leaves no daemon
// behind) and when t ends, if it still runs. With Setpgid, signals go to
// its whole process group.
func Start(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, Stdout: new(Buffer), Stderr: new(Buffer), t: t, name: filepath.Base(cmd.Path), done: make(chan struct{})}
	cmd.Stdout = tee(cmd.Stdout, p.Stdout)
	cmd.Stderr = tee(cmd.Stderr, p.Stderr)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Stdin = in
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if cmd.WaitDelay == 0 {
		// A child of the process that keeps its output open (a shell's
		// daemon) must not keep Wait, and the test, from ending.
		cmd.WaitDelay = 10 * time.Second
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	return p
}

func tee(w io.Writer, b *Buffer) io.Writer {
	switch w.(type) {
	case nil:
		return b
	case *os.File:
		return w
	}
	return io.MultiWriter(w, b)
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has exited (and all its output is
// in the buffers).
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// String is the process's name and output, for failure messages.
func (p *Proc) String() string {
	state := "running"
	if p.Exited() {
		state = fmt.Sprint(p.err)
		if p.err == nil {
			state = "exit status 0"
		}
	}
	return fmt.Sprintf("%s (%s)\n--- stdout:\n%s\n--- stderr:\n%s", p.name, state, tail(p.Stdout.String()), tail(p.Stderr.String()))
}

// tail is the last 8 KiB of s: enough to see why, short enough to read.
func tail(s string) string {
	if len(s) > 8<<10 {
		return "..." + s[len(s)-8<<10:]
	}
	return s
}

// WaitFor waits until cond holds, like Eventually, and fails the test
// with the process's output when timeout passes first or the process
// exits without cond holding (waiting longer could not help).
func (p *Proc) WaitFor(timeout time.Duration, what string, cond func() bool) {
	p.t.Helper()
	exited := false
	ok := Poll(timeout, func() bool {
		exited = p.Exited() // before cond: all output is in when it is true
		return cond() || exited
	})
	if ok && !exited || cond() { // once more: after the exit, all output is in
		return
	}
	if exited {
		p.t.Fatalf("%s exited while waiting for %s: %s", p.name, what, p)
	}
	p.t.Fatalf("timed out after %v waiting for %s from %s", timeout, what, p)
}

// Line waits for a complete line of out (p.Stdout or p.Stderr) matching
// re, as WaitFor does, and returns the first such line's submatches.
func (p *Proc) Line(out *Buffer, timeout time.Duration, re *regexp.Regexp) []string {
	p.t.Helper()
	var m []string
	p.WaitFor(timeout, "a line matching "+re.String(), func() bool {
		for _, l := range out.Lines() {
			if m = re.FindStringSubmatch(l); m != nil {
				return true
			}
		}
		return false
	})
	return m
}

// WaitListening waits, as WaitFor does, until addr (host:port) accepts
// TCP connections.
func (p *Proc) WaitListening(timeout time.Duration, addr string) {
	p.t.Helper()
	p.WaitFor(timeout, "it to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// Signal sends sig to the process; with Setpgid to its whole group, also
// once the process itself has exited, as a script's children may outlive
// it. A process without a group of its own that has exited is left alone.
func (p *Proc) Signal(sig syscall.Signal) {
	if p.Cmd.SysProcAttr.Setpgid {
		syscall.Kill(-p.Pid(), sig) // ESRCH once the whole group is gone
		return
	}
	// Not syscall.Kill: once Wait has reaped the process its pid may be
	// another's; Process.Signal then fails instead.
	p.Cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the process to exit and returns what
// exec.Cmd.Wait returned (nil for exit status 0); it fails the test with
// the output when the process is still running then.
func (p *Proc) Wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %v: %s", p.name, timeout, p)
		return nil
	}
}

// Stop sends sig (SIGTERM, SIGINT) and waits up to timeout for the process
// to exit, returning Wait's error. A process that is still running then
// is killed and the test fails: it ignored sig.
func (p *Proc) Stop(sig syscall.Signal, timeout time.Duration) error {
	p.t.Helper()
	p.Signal(sig)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		p.t.Errorf("%s did not exit within %v of %v, killed: %s", p.name, timeout, sig, p)
		return p.err
	}
}

// Kill sends SIGKILL, as Signal does (with Setpgid to what is left of its
// group), and waits for the process to be gone.
func (p *Proc) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// Result is how a command run by Run ended: its exit code (-1: killed by
// a signal) and everything it wrote.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs bin with args to its end, at most a minute (then it is killed
// and t fails), and returns how it ended. A command that cannot start
// fails t.
func Run(t testing.TB, bin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// A child left holding its output must not keep Run past the minute.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q still ran after a minute; stderr %q", bin, args, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return Result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
}
