package rpclog_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"p2p/internal/logging"
	"p2p/internal/oncrpc"
	"p2p/internal/rpclog"
	"p2p/internal/testenv"
)

var (
	rpcbindOnce    sync.Once
	rpcbindMissing string
	rpcbindCmd     *exec.Cmd // set when this test binary started rpcbind
	rpcbindExited  chan struct{}
)

// portmapperAnswers reports whether a portmapper answers on 127.0.0.1:111.
func portmapperAnswers() bool {
	pm, err := oncrpc.DialPortmapper("127.0.0.1:111", time.Second)
	if err != nil {
		return false
	}
	defer pm.Close()
	_, err = pm.GetPort(rpclog.Program, rpclog.Version, oncrpc.IPProtoTCP)
	return err == nil
}

// needRpcbind makes sure a portmapper answers on 127.0.0.1:111: one that
// already runs is used as it is; otherwise rpcbind is started (as root,
// port 111 free) and stopped when the tests end (stopRpcbind, TestMain).
// Anything missing skips loudly, or fails under CI.
func needRpcbind(t testing.TB) {
	t.Helper()
	rpcbindOnce.Do(func() { rpcbindMissing = startRpcbind() })
	if rpcbindMissing != "" {
		testenv.Unavailable(t, rpcbindMissing)
	}
}

func startRpcbind() string {
	if portmapperAnswers() {
		return ""
	}
	bin, err := exec.LookPath("rpcbind")
	for _, p := range []string{"/usr/sbin/rpcbind", "/sbin/rpcbind"} {
		if err != nil {
			bin, err = p, nil
			if _, serr := os.Stat(p); serr != nil {
				err = serr
			}
		}
	}
	if err != nil {
		return "rpcbind not found (Debian package rpcbind)"
	}
	l, err := net.Listen("tcp", "127.0.0.1:111")
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			return "cannot bind port 111 to start rpcbind (run as root, or start rpcbind first)"
		}
		// Another test binary may be starting one right now.
		if waitPortmapper(10 * time.Second) {
			return ""
		}
		return "port 111 is taken by something that is not a portmapper: " + err.Error()
	}
	l.Close()
	// -f: stay in the foreground, so it can be stopped by its pid. rpcbind
	// keeps its lock and warm-start files in /run/rpcbind.
	os.MkdirAll("/run/rpcbind", 0o755)
	cmd := exec.Command(bin, "-f")
	if err := cmd.Start(); err != nil {
		return "starting rpcbind: " + err.Error()
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if waitPortmapper(10 * time.Second) {
		select {
		case <-exited: // lost a race with another rpcbind, which answers
		default:
			rpcbindCmd, rpcbindExited = cmd, exited
		}
		return ""
	}
	cmd.Process.Kill()
	<-exited
	return "rpcbind started but does not answer on 127.0.0.1:111"
}

// waitPortmapper polls 127.0.0.1:111 for up to d.
func waitPortmapper(d time.Duration) bool {
	return testenv.Poll(d, portmapperAnswers)
}

// stopRpcbind stops rpcbind if this test binary started it.
func stopRpcbind() {
	if rpcbindCmd == nil {
		return
	}
	rpcbindCmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-rpcbindExited:
	case <-time.After(5 * time.Second):
		rpcbindCmd.Process.Kill()
		<-rpcbindExited
	}
}

// rpcinfoPorts returns the TCP ports `rpcinfo -p` lists for the program.
func rpcinfoPorts(t *testing.T) []int {
	t.Helper()
	rpcinfo, err := exec.LookPath("rpcinfo")
	if err != nil {
		rpcinfo = "/usr/sbin/rpcinfo"
		if _, err := os.Stat(rpcinfo); err != nil {
			testenv.Unavailable(t, "rpcinfo not found (Debian package rpcbind)")
		}
	}
	out, err := exec.Command(rpcinfo, "-p", "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("rpcinfo -p: %v\n%s", err, out)
	}
	var ports []int
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == strconv.Itoa(rpclog.Program) && f[1] == "1" && f[2] == "tcp" {
			p, _ := strconv.Atoi(f[3])
			ports = append(ports, p)
		}
	}
	return ports
}

// TestInteropRpcbind: rpc_server registers with rpcbind (rpcinfo -p shows
// it), a C client finds it with clnt_create(host, ..., "tcp") and our
// Sender through GETPORT; a server killed without cleaning up is replaced
// by a restarted one (UNSET before SET); a second server started while one
// runs leaves it the mapping; SIGTERM removes the mapping.
func TestInteropRpcbind(t *testing.T) {
	client, _ := cPrograms(t)
	needRpcbind(t)
	// A crashed earlier server: killed, its mapping left behind.
	crashed := startRegisteredGoServer(t)
	crashed.Kill()
	if ports := rpcinfoPorts(t); len(ports) != 1 || ports[0] != crashed.port {
		t.Fatalf("rpcinfo -p lists ports %v for the program, want [%d]", ports, crashed.port)
	}

	srv := startRegisteredGoServer(t)
	if !strings.Contains(srv.Stderr.String(), "registered with the portmapper") {
		t.Fatalf("rpc_server did not register:\n%s", srv.Stderr)
	}
	if ports := rpcinfoPorts(t); len(ports) != 1 || ports[0] != srv.port {
		t.Fatalf("rpcinfo -p lists ports %v for the program, want [%d]", ports, srv.port)
	}

	// A second server while the first runs: it leaves the mapping to the
	// live one, and its exit does not remove it.
	second := startRegisteredGoServer(t)
	if !strings.Contains(second.Stderr.String(), "already registered by a live server on port "+strconv.Itoa(srv.port)) {
		t.Fatalf("second rpc_server did not leave the mapping to the first:\n%s", second.Stderr)
	}
	if err := second.stop(); err != nil {
		t.Fatalf("second rpc_server after SIGTERM: %v\n%s", err, second.Stderr)
	}
	if ports := rpcinfoPorts(t); len(ports) != 1 || ports[0] != srv.port {
		t.Fatalf("after the second server's exit rpcinfo -p lists ports %v, want [%d]", ports, srv.port)
	}

	e := interopEntries[1]
	if b, err := exec.Command(client, "localhost", "0", e.e.Username, e.e.Operation, e.e.Filename, e.e.DateTime).CombinedOutput(); err != nil {
		t.Fatalf("C client through rpcbind: %v\n%s", err, b)
	}
	s := rpclog.NewSender(rpclog.SenderConfig{Host: "127.0.0.1", Timeout: 5 * time.Second, Log: logging.New(os.Stderr, "")}) // Port 0: GETPORT
	s.Log(interopEntries[0].e)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkLines(t, srv.lines(2), []string{e.line, interopEntries[0].line})

	if err := srv.stop(); err != nil {
		t.Fatalf("rpc_server after SIGTERM: %v\n%s", err, srv.Stderr)
	}
	if ports := rpcinfoPorts(t); len(ports) != 0 {
		t.Fatalf("after SIGTERM rpcinfo -p still lists ports %v", ports)
	}
}
