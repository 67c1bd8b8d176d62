package central

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
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
	*testenv.Proc
	addr string
}

// startProc starts cmd/server on a free port with dir as data folder (no
// -d when dir is "") and waits for its init line. It tries three ports:
// another test binary may take a free port before the server binds it.
func startProc(t testing.TB, dir string, flags ...string) *proc {
	t.Helper()
	bin := serverBinary(t)
	for attempt := 0; ; attempt++ {
		port := testenv.FreePort(t)
		args := []string{"-p", fmt.Sprint(port)}
		if dir != "" {
			args = append(args, "-d", dir)
		}
		cmd := exec.Command(bin, append(args, flags...)...)
		cmd.Env = append(os.Environ(), "LOG_RPC_IP=127.0.0.1", fmt.Sprintf("LOG_RPC_PORT=%d", logServerPort(t)))
		p := &proc{Proc: testenv.Start(t, cmd), addr: fmt.Sprintf("127.0.0.1:%d", port)}
		started := func() bool { return strings.HasPrefix(p.Stdout.String(), "s> init server ") }
		testenv.Poll(30*time.Second, func() bool { return p.Exited() || started() })
		if started() {
			return p
		}
		p.Kill()
		if attempt == 2 {
			t.Fatalf("server did not start: %s", p)
		}
	}
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
