package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"p2p/internal/datetime"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// listServer is a central server that answers "0" to everything but
// LIST_USERS, LIST_CONTENT and SEARCH, which it answers with a count of announce
// and then send records (send < announce: it closes after them).
func listServer(t *testing.T, announce uint32, send int) string {
	t.Helper()
	return testenv.Serve(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Minute))
		req, err := wire.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		if req.Op != wire.ListUsers && req.Op != wire.ListContent && req.Op != wire.Search {
			c.Write([]byte("0"))
			return
		}
		w := bufio.NewWriterSize(c, 1<<20)
		w.WriteByte('0')
		binary.Write(w, binary.BigEndian, announce)
		var rec []byte
		for i := range send {
			switch req.Op {
			case wire.ListUsers:
				rec, _ = wire.AppendUserRecord(rec[:0], wire.UserRecord{Username: fmt.Sprintf("user%07d", i), IP: "127.0.0.1", Port: strconv.Itoa(1024 + i%60000)})
			case wire.Search:
				rec, _ = wire.AppendSearchRecord(rec[:0], wire.SearchRecord{Username: fmt.Sprintf("user%03d", i%1000), Filename: fmt.Sprintf("file%07d", i), Description: "a match"})
			default:
				rec, _ = wire.AppendFileRecord(rec[:0], wire.FileRecord{Filename: fmt.Sprintf("file%07d", i), Description: "a file of the list"})
			}
			if _, err := w.Write(rec); err != nil {
				return
			}
		}
		w.Flush()
	})
}

// runListClient runs the client binary against a list server: REGISTER
// big, then line (a list command), then QUIT. It returns the stdout lines
// and the client's peak resident set (VmHWM) in KiB, read from /proc
// before it exits.
func runListClient(t *testing.T, bin, server, dir, line string) ([]string, int) {
	t.Helper()
	ws := httptest.NewServer(datetime.NewHandler())
	defer ws.Close()
	host, port, _ := net.SplitHostPort(server)
	cmd := exec.Command(bin, "-s", host, "-p", port, "-w", ws.URL+"/", "-l", "127.0.0.1:0")
	cmd.Dir = dir
	// Read as it comes, not kept in p.Stdout: a list may be a million
	// lines. An os.Pipe, not StdoutPipe: Start waits for the process at
	// once, and Wait would close a StdoutPipe under the reader as soon as
	// the client exits.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	cmd.Stdout = w
	p := testenv.Start(t, cmd)
	w.Close() // the client holds its own copy
	// "REGISTER end" after the list: its "REGISTER OK" marks the end of
	// the list's lines (which all start with a datetime or a tab).
	fmt.Fprintf(p.Stdin, "REGISTER big\n%s\nREGISTER end\n", line)
	sc := bufio.NewScanner(stdout)
	var lines []string
	ended := false
	for !ended && sc.Scan() {
		lines = append(lines, sc.Text())
		ended = len(lines) > 2 && sc.Text() == "REGISTER OK"
	}
	kb := peakRSS(t, p.Pid())
	p.Stdin.Close()
	if err := p.Wait(60 * time.Second); err != nil {
		t.Errorf("exit: %v; stderr: %s", err, p.Stderr.String())
	}
	if !ended {
		t.Fatalf("the client ended early; stdout %d lines; stderr: %s", len(lines), p.Stderr.String())
	}
	t.Logf("%s: peak RSS %d KiB; stderr: %.300s", line, kb, p.Stderr.String())
	return lines[2 : len(lines)-2], kb // the list command's lines
}

// TestLongListsBoundedMemory: a server that answers LIST_USERS,
// LIST_CONTENT and SEARCH with 2^20 records (the most a client accepts, 291 MB of
// LIST_USERS reply) cannot push the client's memory up: the records are
// spooled to disk as they come, then printed and written to the JSON file
// one at a time. Lists cut short, or announced with 2^32-1 records, fail
// with no list shown and the old JSON file left as it was.
func TestLongListsBoundedMemory(t *testing.T) {
	const limit = 64 << 10 // KiB
	bin := buildClient(t, false)
	const n = 1 << 20

	dir := t.TempDir()
	lines, kb := runListClient(t, bin, listServer(t, n, n), dir, "LIST_USERS")
	if len(lines) != 2+n || lines[1] != "LIST_USERS OK" || lines[2] != "\tuser0000000 127.0.0.1 1024" || lines[len(lines)-1] != fmt.Sprintf("\tuser%07d 127.0.0.1 %d", n-1, 1024+(n-1)%60000) {
		t.Errorf("LIST_USERS printed %d lines: %q ... %q", len(lines), lines[:min(3, len(lines))], lines[max(0, len(lines)-1):])
	}
	if kb > limit {
		t.Errorf("LIST_USERS of %d records: peak RSS %d KiB > %d KiB", n, kb, limit)
	}
	// The JSON file holds them all, exact.
	f, err := os.Open(filepath.Join(dir, "listusers-big.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bufio.NewReader(f))
	dec.Token()
	count := 0
	for dec.More() {
		var u map[string]string
		if err := dec.Decode(&u); err != nil {
			t.Fatal(err)
		}
		if count == n-1 && (u["Username"] != fmt.Sprintf("user%07d", n-1) || u["IP address"] != "127.0.0.1") {
			t.Errorf("last entry %v", u)
		}
		count++
	}
	f.Close()
	if count != n {
		t.Errorf("listusers-big.json holds %d users", count)
	}

	lines, kb = runListClient(t, bin, listServer(t, n, n), dir, "LIST_CONTENT bob")
	if len(lines) != 2+n || lines[1] != "LIST_CONTENT OK" || lines[2] != "\tfile0000000 \"a file of the list\"" {
		t.Errorf("LIST_CONTENT printed %d lines: %q", len(lines), lines[:min(3, len(lines))])
	}
	if kb > limit {
		t.Errorf("LIST_CONTENT of %d records: peak RSS %d KiB > %d KiB", n, kb, limit)
	}

	// SEARCH too (a server of this project sends at most 1000 matches,
	// another could send more), and completion keeps only the first
	// names it sees.
	lines, kb = runListClient(t, bin, listServer(t, n, n), dir, "SEARCH a match")
	if len(lines) != 2+n || lines[1] != "SEARCH OK" || lines[2] != "\tuser000 file0000000 \"a match\"" || lines[len(lines)-1] != fmt.Sprintf("\tuser%03d file%07d \"a match\"", (n-1)%1000, n-1) {
		t.Errorf("SEARCH printed %d lines: %q", len(lines), lines[:min(3, len(lines))])
	}
	if kb > limit {
		t.Errorf("SEARCH of %d records: peak RSS %d KiB > %d KiB", n, kb, limit)
	}

	// Lists that announce more than they send, then close.
	os.WriteFile(filepath.Join(dir, "listusers-big.json"), []byte("[]\n"), 0o644)
	for _, c := range []struct {
		announce uint32
		send     int
	}{{1<<32 - 1, 3}, {n, 1000}} {
		for _, cmd := range []string{"LIST_USERS", "LIST_CONTENT bob", "SEARCH x"} {
			lines, kb := runListClient(t, bin, listServer(t, c.announce, c.send), dir, cmd)
			op := strings.Fields(cmd)[0]
			if len(lines) != 2 || lines[1] != op+" FAIL" {
				t.Errorf("%s announcing %d, sending %d: printed %q", cmd, c.announce, c.send, lines[:min(4, len(lines))])
			}
			if kb > limit {
				t.Errorf("%s announcing %d: peak RSS %d KiB", cmd, c.announce, kb)
			}
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "listusers-big.json")); string(got) != "[]\n" {
		t.Errorf("a failed LIST_USERS changed listusers-big.json: %.100q", got)
	}
	if es, _ := filepath.Glob(filepath.Join(dir, ".*")); len(es) != 0 {
		t.Errorf("left behind: %q", es)
	}
}
