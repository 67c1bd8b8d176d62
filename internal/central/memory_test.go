package central

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// procStatus reads one "<key>: <n> kB" line of /proc/<pid>/status, in
// bytes.
func procStatus(t *testing.T, pid int, key string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// pad makes a value of exactly n bytes that starts with prefix.
func pad(prefix string, n int) string {
	return prefix + strings.Repeat("x", n-len(prefix))
}

// writeLines writes a data-folder file, one line per element.
func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// maxGrowth is the memory growth the reply tests allow the server.
const maxGrowth = 256 << 20

// TestReplyMemory: 100 connections ask for a multi-megabyte list (a user
// with 20,000 files of long names; 40,000 connected users of long names)
// and never read the reply. The server (cmd/server, a separate process)
// grows by less than 256 MiB (it used to hold one encoded copy of the list
// per request: 1 GB and more), and answers other clients meanwhile.
func TestReplyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a large directory")
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		ask   []byte
		size  int // bytes of the reply
	}{
		{"LIST_CONTENT", func(t *testing.T, dir string) {
			writeLines(t, filepath.Join(dir, "users.csv"), []string{"me", "big"})
			writeLines(t, filepath.Join(dir, "connected.csv"), []string{"me;127.0.0.1;1000", "big;127.0.0.1;1001"})
			var files []string
			for i := range 20000 {
				files = append(files, pad(fmt.Sprintf("f%05d", i), wire.MaxValueLen)+";"+pad(fmt.Sprintf("d%05d", i), wire.MaxValueLen))
			}
			writeLines(t, filepath.Join(dir, "files", "big.csv"), files)
			writeLines(t, filepath.Join(dir, "files", "me.csv"), nil)
		}, req(t, wire.ListContent, "me", "big"), 5 + 20000*wire.FileRecordSize},
		{"LIST_USERS", func(t *testing.T, dir string) {
			users := []string{"me"}
			conns := []string{"me;127.0.0.1;1000"}
			os.MkdirAll(filepath.Join(dir, "files"), 0o755)
			for i := range 40000 {
				u := pad(fmt.Sprintf("u%05d", i), directory.MaxUsernameLen)
				users = append(users, u)
				conns = append(conns, u+";127.0.0.1;1001")
				os.WriteFile(filepath.Join(dir, "files", u+".csv"), nil, 0o644)
			}
			os.WriteFile(filepath.Join(dir, "files", "me.csv"), nil, 0o644)
			writeLines(t, filepath.Join(dir, "users.csv"), users)
			writeLines(t, filepath.Join(dir, "connected.csv"), conns)
		}, req(t, wire.ListUsers, "me"), 5 + 40001*wire.UserRecordSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			p := startProc(t, dir, "-sync=false")
			pid := p.Pid()
			// Forget the peak of the load (writing 5 to clear_refs resets
			// VmHWM to the current VmRSS), so that the peak measured below is
			// the load of the replies.
			if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
				t.Logf("cannot reset the peak (%v): the growth may be underestimated by the load's peak", err)
			}
			base := procStatus(t, pid, "VmRSS")

			const readers = 100
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for i := range readers {
				// From four addresses, under the cap per source: the
				// budget, not that cap, is what this measures.
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i%4))}}
				c, err := d.Dial("tcp", p.addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := c.Write(tc.ask); err != nil {
					t.Fatal(err)
				}
			}
			// Each reply has begun (its first byte is here): the server has
			// done whatever it does before writing, for all of them. The rest
			// is never read.
			for i, c := range conns {
				c.SetReadDeadline(time.Now().Add(60 * time.Second))
				var b [1]byte
				if _, err := c.Read(b[:]); err != nil || b[0] != '0' {
					t.Fatalf("reader %d: %q %v", i, b, err)
				}
			}
			// Other clients are answered meanwhile.
			t0 := time.Now()
			if got := string(send(t, p.addr, req(t, wire.Register, "other"))); got != "0" {
				t.Errorf("REGISTER while the lists are pending: %q", got)
			}
			if got := send(t, p.addr, req(t, wire.ListContent, "me", "me")); string(got) != fileList() {
				t.Errorf("LIST_CONTENT of an empty list while the lists are pending: %q", got)
			}
			took := time.Since(t0)
			peak := procStatus(t, pid, "VmHWM")
			growth := peak - base
			t.Logf("%s: %d readers of a %.1f MB reply: server VmRSS before %.1f MiB, VmHWM after %.1f MiB: growth %.1f MiB (limit %d MiB); other clients answered in %v",
				tc.name, readers, float64(tc.size)/1e6, float64(base)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20), maxGrowth>>20, took.Round(time.Millisecond))
			if growth >= maxGrowth {
				t.Errorf("the server grew by %d MiB, want less than %d MiB", growth>>20, maxGrowth>>20)
			}
			// The replies are whole for a reader that reads at last.
			c := conns[0]
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			n, err := readAll(c)
			if err != nil || n+1 != tc.size {
				t.Errorf("reader 0 read %d more bytes (%v), want %d", n, err, tc.size-1)
			}
		})
	}
}

// readAll reads c to its end and returns the bytes counted.
func readAll(c net.Conn) (int, error) {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := c.Read(buf)
		n += m
		if err != nil {
			if err.Error() == "EOF" {
				return n, nil
			}
			return n, err
		}
	}
}
