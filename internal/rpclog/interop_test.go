package rpclog_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"p2p/internal/logging"
	"p2p/internal/oncrpc"
	"p2p/internal/rpclog"
	"p2p/internal/show"
	"p2p/internal/testenv"
)

// The interop tests build, once per run, a C client and a C server from the
// project's own p2p_log.x with rpcgen and libtirpc, and our rpc_server
// binary, into one temporary folder.

var (
	buildDir  string
	buildOnce sync.Map // name -> *buildResult
)

type buildResult struct {
	once sync.Once
	path string
	err  error
	miss string // what is missing, for testenv.Unavailable
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rpclog-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	testenv.Main(m, stopRpcbind, func() { os.RemoveAll(dir) })
}

func built(t testing.TB, name string, build func() (path, missing string, err error)) string {
	t.Helper()
	v, _ := buildOnce.LoadOrStore(name, &buildResult{})
	r := v.(*buildResult)
	r.once.Do(func() { r.path, r.miss, r.err = build() })
	if r.miss != "" {
		testenv.Unavailable(t, r.miss)
	}
	if r.err != nil {
		t.Fatalf("building %s: %v", name, r.err)
	}
	return r.path
}

// cPrograms returns the paths of logclient and logserver, compiled from
// rpcgen's output for rpclog.XFile and testdata/*.c.
func cPrograms(t testing.TB) (client, server string) {
	t.Helper()
	dir := built(t, "c", func() (string, string, error) {
		for _, tool := range []string{"rpcgen", "gcc"} {
			if _, err := exec.LookPath(tool); err != nil {
				return "", tool + " not found in PATH (Debian packages rpcsvc-proto, gcc)", nil
			}
		}
		if _, err := os.Stat("/usr/include/tirpc/rpc/rpc.h"); err != nil {
			return "", "/usr/include/tirpc/rpc/rpc.h missing (Debian package libtirpc-dev)", nil
		}
		dir := filepath.Join(buildDir, "c")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "p2p_log.x"), []byte(rpclog.XFile), 0o644); err != nil {
			return "", "", err
		}
		for _, f := range []string{"logclient.c", "logserver.c"} {
			b, err := os.ReadFile(filepath.Join("testdata", f))
			if err != nil {
				return "", "", err
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				return "", "", err
			}
		}
		cc := "gcc -O2 -Wall -I/usr/include/tirpc"
		script := strings.Join([]string{
			"rpcgen -C -h -o p2p_log.h p2p_log.x",
			"rpcgen -C -c -o p2p_log_xdr.c p2p_log.x",
			"rpcgen -C -l -o p2p_log_clnt.c p2p_log.x",
			"rpcgen -C -m -o p2p_log_svc.c p2p_log.x",
			cc + " -o logclient logclient.c p2p_log_clnt.c p2p_log_xdr.c -ltirpc",
			cc + " -o logserver logserver.c p2p_log_svc.c p2p_log_xdr.c -ltirpc",
		}, " && ")
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("%s: %v\n%s", script, err, out)
		}
		return dir, "", nil
	})
	return filepath.Join(dir, "logclient"), filepath.Join(dir, "logserver")
}

// proc is a log server started by startProc, with the port it announced.
type proc struct {
	*testenv.Proc
	port int
}

// startProc runs cmd, a server whose stderr announces its port in a line
// that announce matches (the port its first submatch).
func startProc(t testing.TB, announce *regexp.Regexp, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{Proc: testenv.Start(t, cmd)}
	// Before the kill Start registered: a server that ignores SIGTERM
	// fails the test.
	t.Cleanup(func() { p.stop() })
	p.port, _ = strconv.Atoi(p.Line(p.Stderr, 20*time.Second, announce)[1])
	return p
}

// stop sends SIGTERM and waits for the process to end (SIGKILL and a
// failure after 10s).
func (p *proc) stop() error { return p.Stop(syscall.SIGTERM, 10*time.Second) }

func (p *proc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// lines waits until the server has printed n lines (or 20s pass) and
// returns all it printed.
func (p *proc) lines(n int) []string {
	testenv.Poll(20*time.Second, func() bool { return len(p.Stdout.Lines()) >= n })
	return p.Stdout.Lines()
}

var (
	goServerPort = regexp.MustCompile(`on TCP port (\d+)(?:\s|$)`)
	cServerPort  = regexp.MustCompile(`^PORT (\d+)$`)
)

// startGoServer runs our rpc_server on a free port, not registered with
// any portmapper (so that tests running in parallel, in other packages too,
// do not change each other's mappings); startRegisteredGoServer registers.
func startGoServer(t testing.TB, args ...string) *proc {
	return startProc(t, goServerPort, goServer(t, args...))
}

func startRegisteredGoServer(t testing.TB) *proc {
	return startGoServer(t, "-portmap=true") // the last -portmap wins
}

// startCServer runs the rpcgen-made server on a free port.
func startCServer(t testing.TB) *proc {
	return startProc(t, cServerPort, cServer(t))
}

// goServer and cServer are the commands startGoServer and startCServer
// start.
func goServer(t testing.TB, args ...string) *exec.Cmd {
	return exec.Command(testenv.Build(t, "rpc_server"), append([]string{"-p", "0", "-portmap=false"}, args...)...)
}

func cServer(t testing.TB) *exec.Cmd {
	_, server := cPrograms(t)
	return exec.Command(server, "0")
}

// silenced sends cmd's stdout to /dev/null: a benchmark's millions of
// lines are not kept.
func silenced(t testing.TB, cmd *exec.Cmd) *exec.Cmd {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd.Stdout = f
	return cmd
}

// entries used by the interop tests, with the lines §6 wants printed.
var interopEntries = []struct {
	e    rpclog.Entry
	line string
}{
	{rpclog.Entry{Username: "alice", Operation: "REGISTER", DateTime: "30/11/2026 17:20:00"}, "alice REGISTER 30/11/2026 17:20:00"},
	{rpclog.Entry{Username: "alice", Operation: "PUBLISH", Filename: "my song.mp3", DateTime: "30/11/2026 17:20:01"}, "alice PUBLISH my song.mp3 30/11/2026 17:20:01"},
	{rpclog.Entry{Username: "José", Operation: "DELETE", Filename: "a;b\"c", DateTime: "30/11/2026 17:20:02"}, "José DELETE a;b\"c 30/11/2026 17:20:02"},
	{rpclog.Entry{Username: "bob", Operation: "LIST_CONTENT", DateTime: "30/11/2026 17:20:03"}, "bob LIST_CONTENT 30/11/2026 17:20:03"},
	{rpclog.Entry{Username: strings.Repeat("u", 255), Operation: "CONNECT", DateTime: "30/11/2026 17:20:04"}, strings.Repeat("u", 255) + " CONNECT 30/11/2026 17:20:04"},
}

func clientArgs() []string {
	var args []string
	for _, x := range interopEntries {
		args = append(args, x.e.Username, x.e.Operation, x.e.Filename, x.e.DateTime)
	}
	return args
}

func wantLines(times int) []string {
	var want []string
	for i := 0; i < times; i++ {
		for _, x := range interopEntries {
			want = append(want, x.line)
		}
	}
	return want
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("printed lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestInteropCClientToGoServer: rpcgen's client stubs (AUTH_NONE and
// AUTH_SYS), talking to our rpc_server on an explicit port.
func TestInteropCClientToGoServer(t *testing.T) {
	client, _ := cPrograms(t)
	srv := startGoServer(t)
	for _, auth := range [][]string{nil, {"-a"}} {
		args := append(append(auth, "-n", "1", "127.0.0.1", strconv.Itoa(srv.port)), clientArgs()...)
		if out, err := exec.Command(client, args...).CombinedOutput(); err != nil {
			t.Fatalf("logclient %v: %v\n%s", auth, err, out)
		}
	}
	checkLines(t, srv.lines(2*len(interopEntries)), wantLines(2))
}

// TestInteropSenderToCServer: our Sender (the central server's logger)
// talking to the rpcgen-made server.
func TestInteropSenderToCServer(t *testing.T) {
	srv := startCServer(t)
	s := rpclog.NewSender(rpclog.SenderConfig{Host: "127.0.0.1", Port: srv.port, Timeout: 5 * time.Second, Log: logging.New(os.Stderr, "")})
	for _, x := range interopEntries {
		s.Log(x.e)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkLines(t, srv.lines(len(interopEntries)), wantLines(1))
}

// TestInteropErrorRepliesFromCServer: our client decodes the error replies
// libtirpc sends.
func TestInteropErrorRepliesFromCServer(t *testing.T) {
	srv := startCServer(t)
	c, err := oncrpc.Dial(srv.addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dl := time.Now().Add(20 * time.Second)
	if _, err := c.Call(dl, rpclog.Program, rpclog.Version, rpclog.ProcNull, nil); err != nil {
		t.Fatalf("NULL: %v", err)
	}
	args, _ := rpclog.AppendEntry(nil, interopEntries[0].e)
	tests := []struct {
		name            string
		prog, vers, prc uint32
		args            []byte
		want            oncrpc.AcceptStat
	}{
		{"PROG_UNAVAIL", rpclog.Program + 1, 1, 1, args, oncrpc.ProgUnavail},
		{"PROG_MISMATCH", rpclog.Program, 2, 1, args, oncrpc.ProgMismatch},
		{"PROC_UNAVAIL", rpclog.Program, 1, 9, args, oncrpc.ProcUnavail},
		{"GARBAGE_ARGS", rpclog.Program, 1, 1, args[:6], oncrpc.GarbageArgs},
	}
	for _, tc := range tests {
		_, err := c.Call(dl, tc.prog, tc.vers, tc.prc, tc.args)
		var ae *oncrpc.AcceptError
		if !errors.As(err, &ae) || ae.Stat != tc.want {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if tc.want == oncrpc.ProgMismatch && (ae == nil || ae.Low != 1 || ae.High != 1) {
			t.Errorf("PROG_MISMATCH versions: %+v", ae)
		}
	}
	c.Cred = oncrpc.OpaqueAuth{Flavor: oncrpc.AuthSys, Body: oncrpc.AppendAuthSys(nil, oncrpc.AuthSysParams{MachineName: "go", UID: 1, GID: 1})}
	if _, err := c.Call(dl, rpclog.Program, rpclog.Version, rpclog.ProcLogOp, args); err != nil {
		t.Fatalf("AUTH_SYS call to the C server: %v", err)
	}
	checkLines(t, srv.lines(1), []string{interopEntries[0].line})
}

// TestInteropSameRepliesAsC: for the same call records, our server and
// the rpcgen server send the same accept/reject status. (Not RPC_MISMATCH:
// libtirpc's xdr_callmsg refuses an RPC version other than 2, and the C
// server closes the connection instead of answering; ours answers as RFC
// 5531 says, see oncrpc's tests.)
func TestInteropSameRepliesAsC(t *testing.T) {
	csrv := startCServer(t)
	gsrv := startGoServer(t)
	args, _ := rpclog.AppendEntry(nil, interopEntries[1].e)
	calls := map[string][]byte{
		"ok":            oncrpc.AppendCall(nil, hdr(rpclog.Program, 1, 1), args),
		"null":          oncrpc.AppendCall(nil, hdr(rpclog.Program, 1, 0), nil),
		"prog_unavail":  oncrpc.AppendCall(nil, hdr(7, 1, 1), args),
		"prog_mismatch": oncrpc.AppendCall(nil, hdr(rpclog.Program, 5, 1), args),
		"proc_unavail":  oncrpc.AppendCall(nil, hdr(rpclog.Program, 1, 2), args),
		"garbage_args":  oncrpc.AppendCall(nil, hdr(rpclog.Program, 1, 1), []byte{0, 0, 1, 0}),
		"oversize_name": oncrpc.AppendCall(nil, hdr(rpclog.Program, 1, 1), append([]byte{0, 0, 1, 1}, make([]byte, 260+12)...)),
	}
	for name, rec := range calls {
		cr, gr := rawReply(t, csrv.addr(), rec), rawReply(t, gsrv.addr(), rec)
		cr.Verf, gr.Verf = oncrpc.OpaqueAuth{}, oncrpc.OpaqueAuth{}
		if fmt.Sprintf("%+v", cr) != fmt.Sprintf("%+v", gr) {
			t.Errorf("%s: C server replied %+v, ours %+v", name, cr, gr)
		}
	}
}

// TestInteropSamePrintedBytesAsC: the same calls, made by our client to
// the C server and to ours, print the same lines (ours shown safely), for values a C
// string cannot hold whole (NUL), odd ones (LF, empty, not UTF-8, at the
// .x bounds) and operations in another case.
func TestInteropSamePrintedBytesAsC(t *testing.T) {
	csrv, gsrv := startCServer(t), startGoServer(t)
	entries := []rpclog.Entry{
		{Username: "nu\x00l", Operation: "PUBLISH", Filename: "a\x00b", DateTime: "30/11/2026 17:20:00"},
		{Username: "u", Operation: "DELETE\x00x", Filename: "f", DateTime: "30/11/2026\x0017:20:00"},
		{Username: "u", Operation: "PUBLISH", Filename: "two\nlines", DateTime: "30/11/2026 17:20:01"},
		{Username: "", Operation: "", Filename: "", DateTime: ""},
		{Username: "\xff\xfe", Operation: "publish", Filename: "hidden", DateTime: "d"},
		{Username: strings.Repeat("u", rpclog.MaxName), Operation: "DELETE", Filename: strings.Repeat("f", rpclog.MaxName), DateTime: strings.Repeat("9", rpclog.MaxDateTime)},
	}
	for _, srv := range []*proc{csrv, gsrv} {
		c, err := oncrpc.Dial(srv.addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			args, err := rpclog.AppendEntry(nil, e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Call(time.Now().Add(10*time.Second), rpclog.Program, rpclog.Version, rpclog.ProcLogOp, args); err != nil {
				t.Fatalf("%s: %+v: %v", srv.addr(), e, err)
			}
		}
		c.Close()
	}
	// Both print before replying, and the calls were answered; once they
	// have exited, all they printed is in. The C server prints the bytes
	// as they came; ours shows control characters and bytes that are not
	// UTF-8 as \xHH (§7 "Showing values"): the same lines once the C
	// server's are shown so.
	// (The C server has no handler for SIGTERM: it dies by it, and only
	// not exiting fails.)
	csrv.stop()
	if err := gsrv.stop(); err != nil {
		t.Fatalf("%v after SIGTERM: %s", err, gsrv)
	}
	cb, gb := []byte(csrv.Stdout.String()), []byte(gsrv.Stdout.String())
	var wantC, wantGo []byte
	for _, e := range entries {
		raw := rawLine(e)
		if shown := show.Value(raw); shown != rpclog.Line(e) {
			t.Errorf("%+v: ours %q is not the C line %q shown (%q)", e, rpclog.Line(e), raw, shown)
		}
		wantC = append(wantC, raw+"\n"...)
		wantGo = append(wantGo, rpclog.Line(e)+"\n"...)
	}
	if !bytes.Equal(cb, wantC) {
		t.Errorf("C server printed\n%q\nwant\n%q", cb, wantC)
	}
	if !bytes.Equal(gb, wantGo) {
		t.Errorf("ours printed\n%q\nwant\n%q", gb, wantGo)
	}
}

// rawLine is the line the C server prints for e: the values up to their
// first NUL, as they are.
func rawLine(e rpclog.Entry) string {
	c := func(s string) string {
		if i := strings.IndexByte(s, 0); i >= 0 {
			return s[:i]
		}
		return s
	}
	l := c(e.Username) + " " + c(e.Operation) + " "
	if rpclog.HasFilename(c(e.Operation)) {
		l += c(e.Filename) + " "
	}
	return l + c(e.DateTime)
}

func hdr(prog, vers, proc uint32) oncrpc.CallHeader {
	return oncrpc.CallHeader{XID: 42, RPCVers: 2, Program: prog, Version: vers, Procedure: proc}
}

func rawReply(t *testing.T, addr string, rec []byte) oncrpc.ReplyHeader {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	// One record, one last fragment (RFC 5531 §11).
	if _, err := conn.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(rec))|1<<31), rec...)); err != nil {
		t.Fatal(err)
	}
	b, err := oncrpc.NewRecordReader(conn, 0).ReadRecord()
	if err != nil {
		t.Fatalf("%s: reading reply: %v", addr, err)
	}
	r, err := oncrpc.DecodeReply(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) == 0 {
		r.Results = nil
	}
	return r
}

// TestInteropPipelinedToCServer: libtirpc's server answers calls
// pipelined on one connection (as the Sender sends them), all in order.
func TestInteropPipelinedToCServer(t *testing.T) {
	srv := startCServer(t)
	c, err := oncrpc.Dial(srv.addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var args [][]byte
	var want []string
	for i := 0; i < 200; i++ {
		e := rpclog.Entry{Username: "u" + strconv.Itoa(i), Operation: "LIST_USERS", DateTime: "30/11/2026 17:20:00"}
		b, _ := rpclog.AppendEntry(nil, e)
		args = append(args, b)
		want = append(want, rpclog.Line(e))
	}
	if n, err := c.CallMany(time.Now().Add(20*time.Second), rpclog.Program, rpclog.Version, rpclog.ProcLogOp, args); n != len(args) || err != nil {
		t.Fatalf("CallMany = %d, %v", n, err)
	}
	checkLines(t, srv.lines(len(want)), want)
}
