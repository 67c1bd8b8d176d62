package main

import (
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"p2p/internal/oncrpc"
	"p2p/internal/rpclog"
	"p2p/internal/testenv"
)

func TestParseArgs(t *testing.T) {
	def := options{8001, oncrpc.DefaultMaxRecordSize, oncrpc.DefaultMaxConns, oncrpc.DefaultMaxPerSource, oncrpc.DefaultFirstByteTimeout, oncrpc.DefaultIdleTimeout, true}
	with := func(f func(*options)) options { o := def; f(&o); return o }
	good := map[string]options{
		"":                               def,
		"-p 9000":                        with(func(o *options) { o.port = 9000 }),
		"-p 0 -max-record 4096":          with(func(o *options) { o.port, o.maxRecord = 0, 4096 }),
		"-max-conns 10 -idle-timeout 3s": with(func(o *options) { o.maxConns, o.idleTimeout = 10, 3*time.Second }),
		"-max-per-source 5 -first-byte-timeout 1s": with(func(o *options) { o.maxPerSource, o.firstByte = 5, time.Second }),
		"-portmap=false": with(func(o *options) { o.portmap = false }),
	}
	for args, want := range good {
		got, err := parseArgs(strings.Fields(args))
		if err != nil || got != want {
			t.Errorf("parseArgs(%q) = %+v, %v; want %+v", args, got, err, want)
		}
	}
	for _, args := range []string{"-p", "-p x", "-p -1", "-p 65536", "extra", "-x", "-max-record 100", "-max-conns 0", "-max-per-source 0", "-first-byte-timeout 0s", "-idle-timeout 0s", "-h", "-portmap=maybe"} {
		if _, err := parseArgs(strings.Fields(args)); err == nil {
			t.Errorf("parseArgs(%q) accepted", args)
		}
	}
}

func TestMain(m *testing.M) { testenv.Main(m) }

// binary builds rpc_server, once for the tests.
func binary(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, "rpc_server")
}

func TestBadFlagsExit2WithUsage(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{{"-p", "abc"}, {"-p", "70000"}, {"-bogus"}, {"stray"}} {
		r := testenv.Run(t, bin, args...)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.Code)
		}
		if !strings.Contains(r.Stderr, "usage: rpc_server [-p <port>]") {
			t.Errorf("%v: no usage line in %q", args, r.Stderr)
		}
	}
}

func TestHelpExits0WithUsage(t *testing.T) {
	if r := testenv.Run(t, binary(t), "-h"); r.Code != 0 || r.Stdout != "" || r.Stderr != usage+"\n" {
		t.Errorf("-h: exit %d, stdout %q, stderr %q; want exit 0 and the usage line", r.Code, r.Stdout, r.Stderr)
	}
}

// TestIdleFloodFromOneAddress: more idle connections from 127.0.0.2 than
// -max-conns allows (an abuser's 4,096 starved the central server's
// logger) do not keep a LOG call from 127.0.0.1 from being answered and
// printed.
func TestIdleFloodFromOneAddress(t *testing.T) {
	p := testenv.Start(t, exec.Command(binary(t), "-p", "0", "-portmap=false"))
	addr := "127.0.0.1:" + p.Line(p.Stderr, 20*time.Second, regexp.MustCompile(`on TCP port (\d+)(?:\s|$)`))[1]
	opened := testenv.Flood(t, "127.0.0.2", addr, oncrpc.DefaultMaxConns+200, nil)
	t.Logf("the flood opened %d connections", opened)
	// One idle connection has sent half a record header and stalls.
	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.Write([]byte{0x80, 0})

	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	conn, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := oncrpc.NewClient(conn, 0)
	defer c.Close()
	args, _ := rpclog.AppendEntry(nil, rpclog.Entry{Username: "alice", Operation: "PUBLISH", Filename: "f", DateTime: "30/11/2026 17:20:00"})
	if _, err := c.Call(time.Now().Add(3*time.Second), rpclog.Program, rpclog.Version, rpclog.ProcLogOp, args); err != nil {
		t.Fatalf("LOG call from 127.0.0.1 during the flood: %v", err)
	}
	p.WaitFor(20*time.Second, "the line printed", func() bool { return p.Stdout.String() == "alice PUBLISH f 30/11/2026 17:20:00\n" })
	// SIGINT stops it cleanly (exit status 0) even with those connections.
	if err := p.Stop(syscall.SIGINT, 20*time.Second); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
}
