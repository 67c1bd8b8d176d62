package oncrpc

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"p2p/internal/logging"
)

const (
	testProg = 0x40000123
	procEcho = 1 // returns its uint32 argument plus one
	procFail = 2 // fails with a plain error: SYSTEM_ERR
)

// startServer serves a test program (versions 1 and 3) on 127.0.0.1.
func startServer(t testing.TB, configure func(*Server)) (*Server, string) {
	t.Helper()
	s := &Server{Log: logging.Discard()}
	if configure != nil {
		configure(s)
	}
	procs := map[uint32]Handler{
		procEcho: func(_ *CallInfo, args, res []byte) ([]byte, error) {
			if len(args) != 4 {
				return res, ErrGarbageArgs
			}
			return appendUint32(res, binary.BigEndian.Uint32(args)+1), nil
		},
		procFail: func(_ *CallInfo, _, res []byte) ([]byte, error) { return res, errors.New("boom") },
	}
	s.Register(testProg, 1, procs)
	s.Register(testProg, 3, procs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return s, l.Addr().String()
}

func dialT(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func deadline() time.Time { return time.Now().Add(10 * time.Second) }

func u32(v uint32) []byte { return appendUint32(nil, v) }

func TestServerCallsAndAcceptedErrors(t *testing.T) {
	_, addr := startServer(t, nil)
	c := dialT(t, addr)
	for i := uint32(0); i < 50; i++ { // many calls on one connection
		res, err := c.Call(deadline(), testProg, 1, procEcho, u32(i))
		if err != nil || len(res) != 4 || binary.BigEndian.Uint32(res) != i+1 {
			t.Fatalf("call %d: %x, %v", i, res, err)
		}
	}
	if res, err := c.Call(deadline(), testProg, 3, 0, nil); err != nil || len(res) != 0 {
		t.Fatalf("NULL: %x, %v", res, err)
	}
	tests := []struct {
		name            string
		prog, vers, prc uint32
		args            []byte
		want            AcceptStat
		low, high       uint32
	}{
		{"unknown program", testProg + 1, 1, procEcho, u32(1), ProgUnavail, 0, 0},
		{"unknown version", testProg, 2, procEcho, u32(1), ProgMismatch, 1, 3},
		{"unknown procedure", testProg, 1, 99, u32(1), ProcUnavail, 0, 0},
		{"bad arguments", testProg, 1, procEcho, []byte{1, 2}, GarbageArgs, 0, 0},
		{"handler error", testProg, 1, procFail, nil, SystemErr, 0, 0},
	}
	for _, tc := range tests {
		_, err := c.Call(deadline(), tc.prog, tc.vers, tc.prc, tc.args)
		var ae *AcceptError
		if !errors.As(err, &ae) || ae.Stat != tc.want || ae.Low != tc.low || ae.High != tc.high {
			t.Errorf("%s: err = %v, want %v (%d..%d)", tc.name, err, tc.want, tc.low, tc.high)
		}
	}
	// The connection survives every error reply.
	if _, err := c.Call(deadline(), testProg, 1, procEcho, u32(7)); err != nil {
		t.Fatalf("after the error replies: %v", err)
	}
}

// rawCall sends one record on conn and decodes the reply.
func rawCall(t *testing.T, conn net.Conn, rec []byte) ReplyHeader {
	t.Helper()
	conn.SetDeadline(deadline())
	if err := WriteRecord(conn, rec, 0); err != nil {
		t.Fatal(err)
	}
	reply, err := NewRecordReader(conn, 0).ReadRecord()
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	r, err := DecodeReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestServerDeniedReplies(t *testing.T) {
	_, addr := startServer(t, nil)
	sys := AppendAuthSys(nil, AuthSysParams{Stamp: 1, MachineName: "host", UID: 1000, GID: 1000, GIDs: []uint32{4, 24}})
	tests := []struct {
		name   string
		rec    []byte
		stat   ReplyStat
		reject RejectStat
		auth   AuthStat
	}{
		{"rpc version 3", AppendCall(nil, CallHeader{XID: 1, RPCVers: 3, Program: testProg, Version: 1}, nil), MsgDenied, RPCMismatch, 0},
		{"unknown flavor", AppendCall(nil, CallHeader{XID: 2, RPCVers: 2, Program: testProg, Version: 1, Cred: OpaqueAuth{Flavor: 390003}}, nil), MsgDenied, AuthError, AuthRejectedCred},
		{"bad AUTH_SYS body", AppendCall(nil, CallHeader{XID: 3, RPCVers: 2, Program: testProg, Version: 1, Cred: OpaqueAuth{Flavor: AuthSys, Body: []byte{1, 2, 3, 4}}}, nil), MsgDenied, AuthError, AuthBadCred},
		{"credential over 400 bytes", AppendCall(nil, CallHeader{XID: 4, RPCVers: 2, Program: testProg, Version: 1, Cred: OpaqueAuth{Flavor: AuthNone, Body: make([]byte, 401)}}, nil), MsgDenied, AuthError, AuthBadCred},
		{"truncated header", AppendCall(nil, CallHeader{XID: 5, RPCVers: 2, Program: testProg, Version: 1}, nil)[:20], MsgDenied, AuthError, AuthBadCred},
		{"AUTH_SYS accepted", AppendCall(nil, CallHeader{XID: 6, RPCVers: 2, Program: testProg, Version: 1, Cred: OpaqueAuth{Flavor: AuthSys, Body: sys}}, nil), MsgAccepted, 0, 0},
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, tc := range tests {
		r := rawCall(t, conn, tc.rec)
		if r.XID != uint32(i+1) || r.Stat != tc.stat || r.Reject != tc.reject || r.Auth != tc.auth {
			t.Errorf("%s: reply %+v", tc.name, r)
		}
		if tc.stat == MsgDenied && tc.reject == RPCMismatch && (r.Low != 2 || r.High != 2) {
			t.Errorf("%s: versions %d..%d, want 2..2", tc.name, r.Low, r.High)
		}
		if tc.stat == MsgAccepted && r.Accept != Success {
			t.Errorf("%s: accept_stat %v", tc.name, r.Accept)
		}
	}
}

func TestServerSplitFragments(t *testing.T) {
	_, addr := startServer(t, nil)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(deadline())
	rec := AppendCall(nil, CallHeader{XID: 77, RPCVers: 2, Program: testProg, Version: 1, Procedure: procEcho}, u32(41))
	// Three fragments, sent a byte at a time.
	var stream []byte
	stream = append(stream, frag(string(rec[:5]), false)...)
	stream = append(stream, frag(string(rec[5:30]), false)...)
	stream = append(stream, frag(string(rec[30:]), true)...)
	for _, b := range stream {
		if _, err := conn.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	reply, err := NewRecordReader(conn, 0).ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeReply(reply)
	if err != nil || r.XID != 77 || r.Accept != Success || binary.BigEndian.Uint32(r.Results) != 42 {
		t.Fatalf("reply %+v, %v", r, err)
	}
}

// TestServerGarbageClosesOnlyThatConnection: an oversize record, a reply
// sent to the server, a stream cut mid-record each close their own
// connection while another connection keeps working.
func TestServerGarbageClosesOnlyThatConnection(t *testing.T) {
	_, addr := startServer(t, func(s *Server) { s.MaxRecordSize = 1024 })
	good := dialT(t, addr)
	bad := [][]byte{
		AppendFragmentHeader(nil, 1<<30, true),                                // oversize claim
		append(AppendFragmentHeader(nil, 8, true), 0, 0, 0, 1, 0, 0, 0, 1),    // a REPLY, not a call
		append(AppendFragmentHeader(nil, 2000, false), make([]byte, 2000)...), // oversize data
		append(AppendFragmentHeader(nil, 3, true), 1, 2, 3),                   // too short to answer
		append(AppendFragmentHeader(nil, 1025, true), make([]byte, 1025)...),  // one over the limit
		append(append(AppendFragmentHeader(nil, 600, false), make([]byte, 600)...), // two fragments
			append(AppendFragmentHeader(nil, 600, true), make([]byte, 600)...)...),
	}
	for i, stream := range bad {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(deadline())
		conn.Write(stream)
		if n, err := conn.Read(make([]byte, 1)); err == nil {
			t.Errorf("case %d: server answered %d bytes instead of closing", i, n)
		}
		conn.Close()
		if _, err := good.Call(deadline(), testProg, 1, procEcho, u32(uint32(i))); err != nil {
			t.Fatalf("case %d: the other connection failed: %v", i, err)
		}
	}
}

func TestServerConcurrentConnectionsAndPipelining(t *testing.T) {
	_, addr := startServer(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := uint32(0); i < 100; i++ {
				res, err := c.Call(deadline(), testProg, 1, procEcho, u32(i))
				if err != nil || binary.BigEndian.Uint32(res) != i+1 {
					errs <- errors.New("wrong reply")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Pipelined: ten calls written at once, ten replies in order.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(deadline())
	var stream []byte
	for i := uint32(0); i < 10; i++ {
		stream = finishRecord(AppendCall(beginRecord(nil), CallHeader{XID: i, RPCVers: 2, Program: testProg, Version: 1, Procedure: procEcho}, u32(i)))
		conn.Write(stream)
	}
	rr := NewRecordReader(conn, 0)
	for i := uint32(0); i < 10; i++ {
		rec, err := rr.ReadRecord()
		if err != nil {
			t.Fatal(err)
		}
		if r, err := DecodeReply(rec); err != nil || r.XID != i || binary.BigEndian.Uint32(r.Results) != i+1 {
			t.Fatalf("pipelined reply %d: %+v %v", i, r, err)
		}
	}
}

func TestServerLimits(t *testing.T) {
	_, addr := startServer(t, func(s *Server) {
		s.MaxConns = 2
		s.IdleTimeout = 500 * time.Millisecond
	})
	a, b := dialT(t, addr), dialT(t, addr)
	for _, c := range []*Client{a, b} {
		if _, err := c.Call(deadline(), testProg, 1, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A third connection waits in the listen backlog while both are open.
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.Write(finishRecord(AppendCall(beginRecord(nil), CallHeader{XID: 7, RPCVers: 2, Program: testProg, Version: 1}, nil)))
	rr := NewRecordReader(third, 0)
	third.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := rr.ReadRecord(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection past MaxConns: %v, want no answer yet", err)
	}
	// Idle connections are closed after IdleTimeout, freeing their slots:
	// the third is served.
	third.SetReadDeadline(deadline())
	rec, err := rr.ReadRecord()
	if err != nil {
		t.Fatalf("the waiting connection once the idle ones closed: %v", err)
	}
	if r, err := DecodeReply(rec); err != nil || r.XID != 7 {
		t.Fatalf("reply %+v, %v", r, err)
	}
	// One of the two has been closed; by now both have.
	time.Sleep(700 * time.Millisecond)
	for _, c := range []*Client{a, b} {
		if _, err := c.Call(deadline(), testProg, 1, 0, nil); err == nil {
			t.Fatal("idle connection still open after IdleTimeout")
		}
	}
}

func TestClientXIDMismatchAndBrokenClient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		rec, err := NewRecordReader(conn, 0).ReadRecord()
		if err != nil {
			return
		}
		h, _, _ := DecodeCall(rec)
		// A stale reply first, then the right one, then hang up.
		WriteRecord(conn, AppendAcceptedReply(nil, h.XID-1, Success, 0, 0, u32(1)), 0)
		WriteRecord(conn, AppendAcceptedReply(nil, h.XID, Success, 0, 0, u32(2)), 0)
	}()
	c := dialT(t, l.Addr().String())
	res, err := c.Call(deadline(), 1, 1, 1, nil)
	if err != nil || binary.BigEndian.Uint32(res) != 2 {
		t.Fatalf("got %x, %v; want the reply with our XID", res, err)
	}
	if _, err := c.Call(deadline(), 1, 1, 1, nil); err == nil {
		t.Fatal("call on a closed connection succeeded")
	}
	if _, err := c.Call(deadline(), 1, 1, 1, nil); !errors.Is(err, ErrClientBroken) {
		t.Fatalf("err = %v, want ErrClientBroken", err)
	}
}

func TestClientTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accepts and never answers
		conn, err := l.Accept()
		if err == nil {
			time.Sleep(3 * time.Second)
			conn.Close()
		}
	}()
	c := dialT(t, l.Addr().String())
	_, err = c.Call(time.Now().Add(200*time.Millisecond), 1, 1, 1, nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestClientCallMany(t *testing.T) {
	_, addr := startServer(t, nil)
	c := dialT(t, addr)
	var args [][]byte
	for i := uint32(0); i < 100; i++ {
		args = append(args, u32(i))
	}
	if n, err := c.CallMany(deadline(), testProg, 1, procEcho, args); n != 100 || err != nil {
		t.Fatalf("CallMany = %d, %v", n, err)
	}
	args[50] = []byte{1} // GARBAGE_ARGS in the middle; the rest still run
	n, err := c.CallMany(deadline(), testProg, 1, procEcho, args)
	var ae *AcceptError
	if n != 99 || !errors.As(err, &ae) || ae.Stat != GarbageArgs {
		t.Fatalf("CallMany = %d, %v; want 99 and GARBAGE_ARGS", n, err)
	}
	if _, err := c.Call(deadline(), testProg, 1, procEcho, u32(1)); err != nil {
		t.Fatalf("Call after CallMany: %v", err)
	}
}

// TestServerAnswersBurstBeforeBadRecord: calls pipelined ahead of a bad
// record are all answered before the connection is closed, whether the
// bad record is an oversize header alone, a whole oversize record in the
// same write (its replies are still gathered when it fails), or a message
// that is not a call.
func TestServerAnswersBurstBeforeBadRecord(t *testing.T) {
	_, addr := startServer(t, func(s *Server) { s.MaxRecordSize = 512 })
	for name, bad := range map[string][]byte{
		"oversize header": AppendFragmentHeader(nil, 4096, true),
		"oversize record": frag(string(make([]byte, 600)), true),
		"not a call":      frag(string(AppendAcceptedReply(nil, 9, Success, 0, 0, nil)), true),
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(deadline())
			var stream []byte
			for i := uint32(1); i <= 3; i++ {
				rec := AppendCall(nil, CallHeader{XID: i, RPCVers: 2, Program: testProg, Version: 1, Procedure: procEcho}, u32(i))
				stream = append(stream, frag(string(rec), true)...)
			}
			if _, err := conn.Write(append(stream, bad...)); err != nil {
				t.Fatal(err)
			}
			rr := NewRecordReader(conn, 0)
			for i := uint32(1); i <= 3; i++ {
				rec, err := rr.ReadRecord()
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				if r, err := DecodeReply(rec); err != nil || r.XID != i {
					t.Fatalf("reply %d: %+v %v", i, r, err)
				}
			}
			if _, err := rr.ReadRecord(); err == nil {
				t.Fatal("connection not closed after the bad record")
			}
		})
	}
}
