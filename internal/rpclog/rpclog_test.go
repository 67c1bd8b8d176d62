package rpclog

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"p2p/internal/logging"
	"p2p/internal/oncrpc"
	"p2p/internal/testenv"
)

func TestLines(t *testing.T) {
	tests := []struct {
		e    Entry
		want string
	}{
		{Entry{"alice", "REGISTER", "", "30/11/2026 17:20:00"}, "alice REGISTER 30/11/2026 17:20:00"},
		{Entry{"alice", "PUBLISH", "song.mp3", "30/11/2026 17:20:01"}, "alice PUBLISH song.mp3 30/11/2026 17:20:01"},
		{Entry{"bob", "DELETE", "a b;c", "01/01/2027 00:00:00"}, "bob DELETE a b;c 01/01/2027 00:00:00"},
		{Entry{"bob", "LIST_CONTENT", "ignored", "01/01/2027 00:00:00"}, "bob LIST_CONTENT 01/01/2027 00:00:00"},
		{Entry{"José", "CONNECT", "", "01/01/2027 00:00:00"}, "José CONNECT 01/01/2027 00:00:00"},
		// XDR strings may hold NUL; the C server's strings end there.
		{Entry{"nu\x00l", "PUBLISH\x00x", "f\x00g", "01/01/2027\x0000:00:00"}, "nu PUBLISH f 01/01/2027"},
		// Values from the network are shown safely (§7): one call, one
		// line, no terminal control.
		{Entry{"eve\nmallory PUBLISH x", "PUBLISH", "two\nlines\x1b[2J", "d\r"}, `eve\x0amallory PUBLISH x PUBLISH two\x0alines\x1b[2J d\x0d`},
		{Entry{"\xff\xfe", "REGISTER\n", "f", "\u009b31m"}, `\xff\xfe REGISTER\x0a \xc2\x9b31m`},
	}
	for _, tc := range tests {
		if got := Line(tc.e); got != tc.want {
			t.Errorf("Line(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestEntryXDR(t *testing.T) {
	e := Entry{"alice", "PUBLISH", "f.txt", "30/11/2026 17:20:00"}
	b, err := AppendEntry(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	// 4 strings: 4-byte length + padded bytes each.
	if want := (4 + 8) + (4 + 8) + (4 + 8) + (4 + 20); len(b) != want {
		t.Fatalf("encoded %d bytes, want %d", len(b), want)
	}
	got, err := DecodeEntry(b)
	if err != nil || got != e {
		t.Fatalf("DecodeEntry = %+v, %v", got, err)
	}
	max := Entry{strings.Repeat("u", 256), strings.Repeat("o", 256), strings.Repeat("f", 256), strings.Repeat("d", 20)}
	if b, err := AppendEntry(nil, max); err != nil {
		t.Fatalf("largest entry: %v", err)
	} else if got, err := DecodeEntry(b); err != nil || got != max {
		t.Fatalf("largest entry round trip: %v", err)
	}
	for _, bad := range []Entry{
		{Username: strings.Repeat("u", 257)},
		{DateTime: strings.Repeat("d", 21)},
	} {
		if _, err := AppendEntry(nil, bad); err == nil {
			t.Errorf("AppendEntry accepted an oversize field")
		}
		// Hand-encode it anyway: the decoder must refuse it too.
		var raw []byte
		for _, s := range []string{bad.Username, bad.Operation, bad.Filename, bad.DateTime} {
			raw = appendString(raw, s)
		}
		if _, err := DecodeEntry(raw); err == nil {
			t.Errorf("DecodeEntry accepted an oversize field")
		}
	}
	// A length of 2^32-1 must not allocate 4 GiB, and truncations fail.
	if _, err := DecodeEntry([]byte{0xff, 0xff, 0xff, 0xff}); err == nil {
		t.Error("huge length accepted")
	}
	for n := 0; n < len(b); n++ {
		if _, err := DecodeEntry(b[:n]); err == nil {
			t.Errorf("truncated at %d accepted", n)
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = append(b, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
	b = append(b, s...)
	return append(b, make([]byte, (4-len(s)%4)%4)...)
}

// startLogServer runs the log program on 127.0.0.1 and returns its address
// and what it prints.
func startLogServer(t testing.TB) (*oncrpc.Server, string, *testenv.Buffer) {
	t.Helper()
	return startLogServerAt(t, "127.0.0.1:0")
}

func startLogServerAt(t testing.TB, addr string) (*oncrpc.Server, string, *testenv.Buffer) {
	t.Helper()
	out := &testenv.Buffer{}
	srv := &oncrpc.Server{Log: logging.Discard()}
	Register(srv, NewPrinter(out))
	var l net.Listener
	var err error
	// A port just freed may take a moment.
	if !testenv.Poll(5*time.Second, func() bool { l, err = net.Listen("tcp", addr); return err == nil }) {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return srv, l.Addr().String(), out
}

func TestLogServerPrintsAndRefusesGarbage(t *testing.T) {
	_, addr, out := startLogServer(t)
	c, err := oncrpc.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dl := time.Now().Add(10 * time.Second)
	if _, err := c.Call(dl, Program, Version, ProcNull, nil); err != nil {
		t.Fatalf("NULL: %v", err)
	}
	args, _ := AppendEntry(nil, Entry{"alice", "PUBLISH", "x.txt", "30/11/2026 17:20:00"})
	if _, err := c.Call(dl, Program, Version, ProcLogOp, args); err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(dl, Program, Version, ProcLogOp, args[:10])
	var ae *oncrpc.AcceptError
	if !errors.As(err, &ae) || ae.Stat != oncrpc.GarbageArgs {
		t.Fatalf("truncated entry: err = %v, want GARBAGE_ARGS", err)
	}
	_, err = c.Call(dl, Program, 2, ProcLogOp, args)
	if !errors.As(err, &ae) || ae.Stat != oncrpc.ProgMismatch || ae.Low != 1 || ae.High != 1 {
		t.Fatalf("version 2: err = %v, want PROG_MISMATCH 1..1", err)
	}
	if got, want := out.String(), "alice PUBLISH x.txt 30/11/2026 17:20:00\n"; got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
}

// TestLogServerOneLinePerCall: whatever bytes the values hold, each call
// prints exactly one line, with no control character in it.
func TestLogServerOneLinePerCall(t *testing.T) {
	_, addr, out := startLogServer(t)
	c, err := oncrpc.Dial(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dl := time.Now().Add(10 * time.Second)
	forged := "\n\tbob x \"forged\"\r\x1b[1A\x1b[2K\u0085\u009b2J\xff"
	entries := []Entry{
		{forged, "PUBLISH", forged, "\x1b[2J\n\u009b"},
		{"u", forged, forged, "30/11/2026 17:20:00"},
		{"u", "DELETE", "\n", "\n"},
		{"u", "REGISTER", "", "30/11/2026 17:20:00"},
	}
	for _, e := range entries {
		args, err := AppendEntry(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Call(dl, Program, Version, ProcLogOp, args); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(entries) {
		t.Fatalf("%d calls printed %d lines: %q", len(entries), len(lines), out.String())
	}
	for i, l := range lines {
		if strings.ContainsFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == utf8.RuneError }) {
			t.Errorf("line %d holds a control character: %q", i, l)
		}
	}
	if want := `u DELETE \x0a \x0a`; lines[2] != want {
		t.Errorf("line 2 = %q, want %q", lines[2], want)
	}
}
