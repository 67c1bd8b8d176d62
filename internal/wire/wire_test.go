package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	long := strings.Repeat("é", 127) + "x" // 255 bytes of UTF-8
	reqs := []Request{
		{Op: Register, DateTime: "30/11/2026 17:20:00", Username: "alice"},
		{Op: Connect, DateTime: "30/11/2026 17:20:00", Username: "alice", Port: "65535"},
		{Op: Publish, DateTime: "30/11/2026 17:20:00", Username: "a;b \"c\"", Filename: long, Description: long},
		{Op: Delete, DateTime: "x", Username: "u", Filename: "f"},
		{Op: ListContent, DateTime: "x", Username: "u", Remote: "bob"},
		{Op: Search, DateTime: "x", Username: "u", Words: "Song.MP3 ñandú; \"x\""},
	}
	for _, req := range reqs {
		b, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatalf("%v: %v", req.Op, err)
		}
		want := len(req.Op) + 1 + DateTimeSize + NameSize
		switch req.Op {
		case Connect:
			want += PortSize
		case Publish:
			want += 2 * NameSize
		case Delete, ListContent, Search:
			want += NameSize
		}
		if len(b) != want {
			t.Errorf("%v: %d bytes, want %d", req.Op, len(b), want)
		}
		got, err := ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil || got != req {
			t.Errorf("%v: read back %+v, %v", req.Op, got, err)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	good, _ := AppendRequest(nil, Request{Op: Publish, DateTime: "d", Username: "u", Filename: "f", Description: "x"})
	noNUL := append([]byte(nil), good...)
	off := len("PUBLISH") + 1 + DateTimeSize + NameSize // the filename field
	for i := off; i < off+NameSize; i++ {
		noNUL[i] = 'a'
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"unknown cop", []byte("HELLO\x00"), ErrUnknownOp},
		{"long cop", bytes.Repeat([]byte("A"), 40), ErrMalformed},
		{"truncated cop", []byte("REGIS"), io.ErrUnexpectedEOF},
		{"truncated field", good[:len(good)-1], io.ErrUnexpectedEOF},
		{"after cop", good[:len("PUBLISH")+1], io.ErrUnexpectedEOF},
		{"no NUL", noNUL, ErrInvalidField},
	}
	for _, c := range cases {
		req, err := ReadRequest(bufio.NewReader(bytes.NewReader(c.in)))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if c.want == ErrInvalidField && (req.Op != Publish || req.Username != "u" || req.Description != "x") {
			t.Errorf("%s: request %+v should keep its valid fields", c.name, req)
		}
	}
}

func TestAppendFieldLimits(t *testing.T) {
	if _, err := AppendField(nil, strings.Repeat("a", 255), NameSize); err != nil {
		t.Errorf("255 bytes: %v", err)
	}
	if _, err := AppendField(nil, strings.Repeat("a", 256), NameSize); err == nil {
		t.Error("256 bytes accepted")
	}
	if _, err := AppendField(nil, "a\x00b", NameSize); err == nil {
		t.Error("NUL accepted")
	}
	b, _ := AppendField(nil, "ab", 6)
	if !bytes.Equal(b, []byte("ab\x00\x00\x00\x00")) {
		t.Errorf("padding: %q", b)
	}
}

func TestLists(t *testing.T) {
	users := []UserRecord{{"alice", "127.0.0.1", "40123"}, {"bob", "10.0.0.2", "1"}}
	b, err := AppendUserList(nil, users)
	if err != nil || len(b) != 1+4+2*UserRecordSize || b[0] != '0' {
		t.Fatalf("user list: %d bytes, %v", len(b), err)
	}
	got, err := ReadUserList(bytes.NewReader(b[1:]))
	if err != nil || len(got) != 2 || got[1] != users[1] {
		t.Errorf("read users %+v, %v", got, err)
	}
	files := []FileRecord{{"song.mp3", "a song I like"}}
	b, _ = AppendFileList(nil, files)
	gotf, err := ReadFileList(bytes.NewReader(b[1:]))
	if err != nil || len(gotf) != 1 || gotf[0] != files[0] {
		t.Errorf("read files %+v, %v", gotf, err)
	}
	if _, err := ReadFileList(bytes.NewReader(b[1 : len(b)-3])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated list: %v", err)
	}
	if _, err := ReadUserList(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff})); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge count: %v", err)
	}
	found := []SearchRecord{{"bob", "song.mp3", "a song I like"}, {"alice", "b;c", ""}}
	b, err = AppendSearchList(nil, found)
	if err != nil || len(b) != 1+4+2*SearchRecordSize || b[0] != '0' {
		t.Fatalf("search list: %d bytes, %v", len(b), err)
	}
	gots, err := ReadSearchList(bytes.NewReader(b[1:]))
	if err != nil || len(gots) != 2 || gots[0] != found[0] || gots[1] != found[1] {
		t.Errorf("read search records %+v, %v", gots, err)
	}
	if _, err := ReadSearchList(bytes.NewReader(b[1 : len(b)-1])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated search list: %v", err)
	}
	if _, err := ReadSearchList(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff})); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge search count: %v", err)
	}
	if _, err := AppendSearchList(nil, []SearchRecord{{"u", "f", strings.Repeat("d", NameSize)}}); err == nil {
		t.Error("a description of 256 bytes was encoded")
	}
}

func TestStatusTable(t *testing.T) {
	cases := []struct {
		op   Op
		o    Outcome
		code Status
		line string
	}{
		{Register, UserInUse, 1, "USERNAME IN USE"},
		{Register, UserNotFound, 2, "REGISTER FAIL"},
		{Unregister, UserNotFound, 1, "USERNAME DOES NOT EXIST"},
		{Connect, AlreadyConnected, 2, "CONNECT FAIL, USER ALREADY CONNECTED"},
		{Connect, Failed, 3, "CONNECT FAIL"},
		{Publish, AlreadyPublished, 3, "PUBLISH FAIL, CONTENT ALREADY PUBLISHED"},
		{Publish, Failed, 4, "PUBLISH FAIL"},
		{Delete, NotPublished, 3, "DELETE FAIL, CONTENT NOT PUBLISHED"},
		{ListUsers, NotConnected, 2, "LIST_USERS FAIL, USER NOT CONNECTED"},
		{ListContent, RemoteNotFound, 3, "LIST_CONTENT FAIL, REMOTE USER DOES NOT EXIST"},
		{Search, OK, 0, "SEARCH OK"},
		{Search, UserNotFound, 1, "SEARCH FAIL, USER DOES NOT EXIST"},
		{Search, NotConnected, 2, "SEARCH FAIL, USER NOT CONNECTED"},
		{Search, Failed, 3, "SEARCH FAIL"},
		{Search, RemoteNotFound, 3, "SEARCH FAIL"},
		{GetFile, FileNotFound, 1, "GET_FILE FAIL, FILE DOES NOT EXIST"},
	}
	for _, c := range cases {
		if s := StatusFor(c.op, c.o); s != c.code || Line(c.op, s) != c.line {
			t.Errorf("%v/%v: code %d line %q", c.op, c.o, s, Line(c.op, s))
		}
	}
	if Line(Register, 7) != "REGISTER FAIL" || FailLine(GetFileSized) != "GET_FILE FAIL" {
		t.Error("fallback lines")
	}
	if s, err := ReadStatus(bytes.NewReader([]byte("x"))); !errors.Is(err, ErrMalformed) {
		t.Errorf("non-digit status: %v %v", s, err)
	}
}

func TestPeerRequest(t *testing.T) {
	b, err := AppendPeerRequest(nil, GetFileSized, "a b.txt")
	if err != nil || len(b) != len("GET_FILE_SIZED")+1+NameSize {
		t.Fatal(len(b), err)
	}
	op, name, err := ReadPeerRequest(bufio.NewReader(bytes.NewReader(b)))
	if op != GetFileSized || name != "a b.txt" || err != nil {
		t.Errorf("%v %q %v", op, name, err)
	}
	if _, _, err := ReadPeerRequest(bufio.NewReader(strings.NewReader("REGISTER\x00"))); !errors.Is(err, ErrUnknownOp) {
		t.Errorf("server op on peer: %v", err)
	}
}

func TestValidPort(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "65535": true, "65536": false, "": false, "12a": false, "-1": false, "123456": false} {
		if ValidPort(s) != want {
			t.Errorf("ValidPort(%q) != %v", s, want)
		}
	}
}

// TestListRecordByRecord: the count, then one record at a time into a
// reused buffer, as a client that does not hold the list reads it.
func TestListRecordByRecord(t *testing.T) {
	users := []UserRecord{{"alice", "127.0.0.1", "40123"}, {"bob", "10.0.0.2", "1"}}
	b, _ := AppendUserList(nil, users)
	r := bytes.NewReader(b[1:])
	n, err := ReadListCount(r)
	if err != nil || n != 2 {
		t.Fatalf("count %d, %v", n, err)
	}
	buf := make([]byte, UserRecordSize)
	for i := range n {
		if u, err := ReadUserRecord(r, buf); err != nil || u != users[i] {
			t.Errorf("record %d: %+v, %v", i, u, err)
		}
	}
	if _, err := ReadUserRecord(r, buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("past the end: %v", err)
	}
	files := []FileRecord{{"song.mp3", "a song I like"}}
	b, _ = AppendFileList(nil, files)
	r = bytes.NewReader(b[5:])
	if f, err := ReadFileRecord(r, make([]byte, FileRecordSize)); err != nil || f != files[0] {
		t.Errorf("file record %+v, %v", f, err)
	}
	bad := bytes.Repeat([]byte("x"), FileRecordSize)
	if _, err := ReadFileRecord(bytes.NewReader(bad), make([]byte, FileRecordSize)); !errors.Is(err, ErrInvalidField) {
		t.Errorf("record without NUL: %v", err)
	}
	found := []SearchRecord{{"bob", "song.mp3", "a song I like"}, {"alice", "b;c", ""}}
	b, _ = AppendSearchList(nil, found)
	r = bytes.NewReader(b[5:])
	sbuf := make([]byte, SearchRecordSize)
	for i := range found {
		if s, err := ReadSearchRecord(r, sbuf); err != nil || s != found[i] {
			t.Errorf("search record %d: %+v, %v", i, s, err)
		}
	}
	if _, err := ReadSearchRecord(r, sbuf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("past the end of the search list: %v", err)
	}
	bad = bytes.Repeat([]byte("x"), SearchRecordSize)
	bad[NameSize-1] = 0 // the username is valid, the filename has no NUL
	if _, err := ReadSearchRecord(bytes.NewReader(bad), sbuf); !errors.Is(err, ErrInvalidField) {
		t.Errorf("search record without NUL: %v", err)
	}
	if _, err := ReadListCount(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff})); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge count: %v", err)
	}
}

// Encodable says yes exactly when the record's Append cannot fail.
func TestEncodableMatchesAppend(t *testing.T) {
	long := strings.Repeat("a", NameSize)
	for _, v := range []string{"", "x", long[:NameSize-1], long, "a\x00b", "127.0.0.1", "65535", long[:IPSize], long[:PortSize]} {
		u := UserRecord{Username: "u", IP: v, Port: "1"}
		if _, err := AppendUserRecord(nil, u); u.Encodable() != (err == nil) {
			t.Errorf("UserRecord IP %q: Encodable %v, Append error %v", v, u.Encodable(), err)
		}
		u = UserRecord{Username: "u", IP: "1", Port: v}
		if _, err := AppendUserRecord(nil, u); u.Encodable() != (err == nil) {
			t.Errorf("UserRecord Port %q: Encodable %v, Append error %v", v, u.Encodable(), err)
		}
		f := FileRecord{Filename: "f", Description: v}
		if _, err := AppendFileRecord(nil, f); f.Encodable() != (err == nil) {
			t.Errorf("FileRecord %q: Encodable %v, Append error %v", v, f.Encodable(), err)
		}
		s := SearchRecord{Username: v, Filename: "f", Description: "d"}
		if _, err := AppendSearchRecord(nil, s); s.Encodable() != (err == nil) {
			t.Errorf("SearchRecord %q: Encodable %v, Append error %v", v, s.Encodable(), err)
		}
	}
}
