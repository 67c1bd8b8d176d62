package central

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// readCSV reads a data file with Go's encoding/csv (';'), a reader
// independent of the directory's own.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// roundTripValues returns the longest username allowed and files whose
// names and descriptions hold spaces, ';', '"', CR, LF, tabs and UTF-8,
// at the longest lengths allowed.
func roundTripValues(t *testing.T) (string, []wire.FileRecord) {
	user := strings.Repeat("é", 120) + ` a;"b` + strings.Repeat("x", 6) // 251 bytes
	if len(user) != directory.MaxUsernameLen {
		t.Fatalf("username of %d bytes", len(user))
	}
	name := func(i int) string { // 255 bytes
		s := `"q" ; ` + strings.Repeat("ü", 100) + " end " + strings.Repeat("z", 255)
		return (string(rune('A'+i)) + s)[:255]
	}
	return user, []wire.FileRecord{
		{Filename: name(0), Description: name(1)},
		{Filename: " lead space", Description: "\ttab, line\nbreak\r\n and ;"},
		{Filename: "日本語.txt", Description: ""},
	}
}

// TestValuesRoundTrip sends values with spaces, ';', '"' and UTF-8 at the
// longest lengths allowed and reads them back from the lists and the CSVs.
func TestValuesRoundTrip(t *testing.T) {
	ts := startServer(t, testConfig{})
	user, files := roundTripValues(t)
	if r := ts.do(t, wire.Register, user); r != "0" {
		t.Fatalf("register: %q", r)
	}
	if r := ts.do(t, wire.Connect, user, "65535"); r != "0" {
		t.Fatalf("connect: %q", r)
	}
	for _, f := range files {
		if r := ts.do(t, wire.Publish, user, f.Filename, f.Description); r != "0" {
			t.Fatalf("publish %q: %q", f.Filename, r)
		}
	}
	if got, want := ts.do(t, wire.ListContent, user, user), fileList(files...); got != want {
		t.Errorf("list content differs")
	}
	if got, want := ts.do(t, wire.ListUsers, user), userList(wire.UserRecord{Username: user, IP: "127.0.0.1", Port: "65535"}); got != want {
		t.Errorf("list users differs")
	}
	if got := readCSV(t, filepath.Join(ts.dir, "users.csv")); !reflect.DeepEqual(got, [][]string{{user}}) {
		t.Errorf("users.csv: %q", got)
	}
	if got := readCSV(t, filepath.Join(ts.dir, "connected.csv")); !reflect.DeepEqual(got, [][]string{{user, "127.0.0.1", "65535"}}) {
		t.Errorf("connected.csv: %q", got)
	}
	var want [][]string
	for _, f := range files {
		// encoding/csv drops a CR before LF even inside quotes; the
		// directory's own reader keeps it (checked after the restart).
		want = append(want, []string{f.Filename, strings.ReplaceAll(f.Description, "\r\n", "\n")})
	}
	if got := readCSV(t, filepath.Join(ts.dir, "files", user+".csv")); !reflect.DeepEqual(got, want) {
		t.Errorf("files csv: %q\nwant %q", got, want)
	}
	// And after a restart, from the files alone.
	ts.Close()
	ts2 := startServer(t, testConfig{Dir: ts.dir})
	if got, want := ts2.do(t, wire.ListContent, user, user), fileList(files...); got != want {
		t.Errorf("list content after restart differs")
	}
	if ts2.errs.String() != "" {
		t.Errorf("restart reported: %s", ts2.errs.String())
	}
}

// TestLimits: a 252-byte username is refused and creates nothing; a field
// of 256 bytes without NUL gets the operation's last code, no console line
// and no log entry.
func TestLimits(t *testing.T) {
	ts := startServer(t, testConfig{})
	addr := ts.Addr().String()
	for _, u := range []string{strings.Repeat("a", 252), "../x", "a/../../etc"} {
		if r := ts.do(t, wire.Register, u); r != "2" {
			t.Errorf("register %q: %q", u, r)
		}
	}
	if got := dirFiles(t, ts.dir); !reflect.DeepEqual(got, map[string]string{"users.csv": "", "connected.csv": ""}) {
		t.Errorf("files after refused names: %s", showFiles(got))
	}
	if entries, _ := os.ReadDir(filepath.Dir(ts.dir)); len(entries) != 1 {
		t.Errorf("something was written beside the data folder: %d entries", len(entries))
	}
	lines := strings.Count(ts.console.String(), "\n")
	logs := len(ts.log.all())

	ts.do(t, wire.Register, "u")
	ts.do(t, wire.Connect, "u", "1")
	lines, logs = lines+2, logs+2
	noNUL := bytes.Repeat([]byte{'n'}, wire.NameSize)
	cases := []struct {
		op    wire.Op
		extra []string
		field int // index of the field to overwrite, after cop
		want  string
	}{
		{wire.Register, nil, 1, "2"},
		{wire.Unregister, nil, 1, "2"},
		{wire.Connect, []string{"1"}, 1, "3"},
		{wire.Disconnect, nil, 1, "3"},
		{wire.Publish, []string{"f", "d"}, 2, "4"},
		{wire.Publish, []string{"f", "d"}, 3, "4"},
		{wire.Delete, []string{"f"}, 2, "4"},
		{wire.ListUsers, nil, 1, "3"},
		{wire.ListContent, []string{"u"}, 2, "4"},
	}
	for _, c := range cases {
		b := req(t, c.op, "u", c.extra...)
		off := len(c.op) + 1 + wire.DateTimeSize + (c.field-1)*wire.NameSize
		copy(b[off:], noNUL)
		if got := string(send(t, addr, b)); got != c.want {
			t.Errorf("%s, field %d without NUL: %q, want %q", c.op, c.field, got, c.want)
		}
	}
	if n := strings.Count(ts.console.String(), "\n"); n != lines {
		t.Errorf("console: %d lines, want %d", n, lines)
	}
	if n := len(ts.log.all()); n != logs {
		t.Errorf("log: %d entries, want %d", n, logs)
	}
	if r := ts.do(t, wire.ListContent, "u", "u"); r != fileList() {
		t.Errorf("no-NUL publish changed the list: %q", r)
	}
}
