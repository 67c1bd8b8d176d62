package central

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"p2p/internal/oncrpc"
	"p2p/internal/rpclog"
	"p2p/internal/testenv"
)

func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		os.Exit(runChild(child))
	}
	testenv.Main(m)
}

// serverBinary builds cmd/server once per test run.
func serverBinary(t testing.TB) string {
	t.Helper()
	return testenv.Build(t, "server")
}

// proc is cmd/server running as a real process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *testenv.Buffer
	stderr *testenv.Buffer
	exited chan struct{}
}

// startProc starts cmd/server on a free port with dir as data folder (no
// -d when dir is "") and waits for its init line.
func startProc(t testing.TB, dir string, flags ...string) *proc {
	t.Helper()
	bin := serverBinary(t)
	for attempt := 0; ; attempt++ {
		port := testenv.FreePort(t)
		p := &proc{stdout: new(testenv.Buffer), stderr: new(testenv.Buffer), exited: make(chan struct{})}
		args := []string{"-p", fmt.Sprint(port)}
		if dir != "" {
			args = append(args, "-d", dir)
		}
		p.cmd = exec.Command(bin, append(args, flags...)...)
		p.cmd.Env = append(os.Environ(), "LOG_RPC_IP=127.0.0.1", fmt.Sprintf("LOG_RPC_PORT=%d", logServerPort(t)))
		p.cmd.Stderr = p.stderr
		out, _ := p.cmd.StdoutPipe()
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(out)
			first := true
			for sc.Scan() {
				p.stdout.Write([]byte(sc.Text() + "\n"))
				if first {
					ready <- strings.HasPrefix(sc.Text(), "s> init server ")
					first = false
				}
			}
			if first {
				ready <- false
			}
			p.cmd.Wait()
			close(p.exited)
		}()
		select {
		case ok := <-ready:
			if ok {
				p.addr = fmt.Sprintf("127.0.0.1:%d", port)
				t.Cleanup(func() { p.kill() })
				return p
			}
		case <-time.After(30 * time.Second):
		}
		p.kill()
		if attempt == 2 {
			t.Fatalf("server did not start: %s", p.stderr.String())
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// exitCode waits for the process and returns its exit status.
func (p *proc) exitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("server did not exit")
	}
	return p.cmd.ProcessState.ExitCode()
}

var logServer struct {
	once sync.Once
	port int
	err  error
}

// logServerPort starts, once per test binary, an in-process log server
// that discards its lines, so that server processes under test log to it
// instead of warning that no log server answers (or reaching one that
// happens to run on this machine).
func logServerPort(t testing.TB) int {
	t.Helper()
	logServer.once.Do(func() {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			logServer.err = err
			return
		}
		srv := &oncrpc.Server{}
		rpclog.Register(srv, rpclog.NewPrinter(io.Discard))
		go srv.Serve(ln)
		logServer.port = ln.Addr().(*net.TCPAddr).Port
	})
	if logServer.err != nil {
		t.Fatalf("log server for the tests: %v", logServer.err)
	}
	return logServer.port
}
