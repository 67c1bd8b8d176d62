package central

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// TestProcessUsage: bad, missing or unknown flags print one usage line on
// stderr and exit with status 2.
func TestProcessUsage(t *testing.T) {
	bin := serverBinary(t)
	for _, args := range [][]string{
		{}, {"-p"}, {"-p", "80"}, {"-p", "1023"}, {"-p", "65536"}, {"-p", "abc"}, {"-p", "+2000"},
		{"-p", "2000", "-x"}, {"-p", "2000", "extra"}, {"-q", "2000"}, {"-p", "2000", "-max-conns", "0"},
		{"-p", "2000", "-read-timeout", "0s"}, {"-p", "2000", "-max-per-source", "0"}, {"-p", "2000", "-first-byte-timeout", "0s"},
		{"-p", "2000", "-proxy", ""}, {"-p", "2000", "-proxy", "10.0.0.300"}, {"-p", "2000", "-proxy", "10.0.0.1,"},
		{"-p", "2000", "-proxy", "::1"}, {"-p", "2000", "-proxy", "10.0.0.0/40"}, {"-p", "2000", "-proxy", "lb.example"},
		{"-p", "2000", "-max-files", "-1"}, {"-p", "2000", "-max-files", "x"}, {"-p", "2000", "-reply-budget", "0"},
	} {
		r := testenv.Run(t, bin, args...)
		if r.Code != 2 || r.Stdout != "" || strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "usage: server -p ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// TestProcessKillRestart: SIGKILL right after acknowledged operations, then
// a restart: everything acknowledged is there.
func TestProcessKillRestart(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	steps := []struct {
		op    wire.Op
		user  string
		extra []string
	}{
		{wire.Register, "alice", nil}, {wire.Register, "bob", nil}, {wire.Register, "carol", nil},
		{wire.Connect, "alice", []string{"5000"}}, {wire.Connect, "bob", []string{"6000"}},
		{wire.Publish, "alice", []string{"a.txt", "first"}}, {wire.Publish, "alice", []string{"b;c", `"x"`}},
		{wire.Delete, "alice", []string{"a.txt"}}, {wire.Unregister, "carol", nil},
		{wire.Connect, "carol", []string{"1"}}, // 1: gone
	}
	want := "0000000001"
	var got string
	for _, s := range steps {
		got += string(send(t, p.addr, req(t, s.op, s.user, s.extra...)))
	}
	p.Kill()
	if got != want {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if p.Stdout.String() == "" || strings.Count(p.Stdout.String(), "s> OPERATION FROM ") != len(steps) {
		t.Errorf("console:\n%s", p.Stdout.String())
	}
	p = startProc(t, dir)
	alice := wire.UserRecord{Username: "alice", IP: "127.0.0.1", Port: "5000"}
	bob := wire.UserRecord{Username: "bob", IP: "127.0.0.1", Port: "6000"}
	if r := string(send(t, p.addr, req(t, wire.ListUsers, "bob"))); r != userList(alice, bob) {
		t.Errorf("list users after restart: %q", r)
	}
	if r := string(send(t, p.addr, req(t, wire.ListContent, "bob", "alice"))); r != fileList(wire.FileRecord{Filename: "b;c", Description: `"x"`}) {
		t.Errorf("list content after restart: %q", r)
	}
	if r := string(send(t, p.addr, req(t, wire.Register, "carol"))); r != "0" {
		t.Errorf("carol was unregistered, register again: %q", r)
	}
	if p.Stderr.String() != "" {
		t.Errorf("restart reported: %s", p.Stderr.String())
	}
}

// TestProcessOneServerPerFolder: a second server given the same data folder
// exits with a clear error and touches nothing, whether its port is taken
// (it fails to listen before it loads) or free (the folder is locked).
func TestProcessOneServerPerFolder(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	if r := string(send(t, p.addr, req(t, wire.Register, "alice"))); r != "0" {
		t.Fatalf("register: %q", r)
	}
	// A leftover that a load would remove: it must survive both attempts.
	leftover := filepath.Join(dir, "files", ".tmp-0badc0de")
	if err := os.WriteFile(leftover, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(p.addr, ":")
	for _, tc := range []struct{ port, want string }{
		{port, "address already in use"},
		{fmt.Sprint(testenv.FreePort(t)), "in use by another server"},
	} {
		r := testenv.Run(t, serverBinary(t), "-p", tc.port, "-d", dir)
		if r.Code <= 0 || !strings.Contains(r.Stderr, tc.want) || r.Stdout != "" {
			t.Errorf("second server on port %s: exit %d, stdout %q, stderr %q; want a failure saying %q", tc.port, r.Code, r.Stdout, r.Stderr, tc.want)
		}
		if _, err := os.Stat(leftover); err != nil {
			t.Fatalf("second server on port %s touched the folder: %v", tc.port, err)
		}
	}
	if r := string(send(t, p.addr, req(t, wire.Register, "alice"))); r != "1" {
		t.Errorf("the first server lost alice: %q", r)
	}
}

// TestProcessGracefulShutdown: SIGTERM while clients keep sending; every
// request either gets a whole reply or is refused, the process exits 0,
// and everything acknowledged survives.
func TestProcessGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := fmt.Sprintf("c%d-%d", c, i)
				if reply, err := tryRequest(p.addr, req(t, wire.Register, u)); err == nil && reply == "0" {
					mu.Lock()
					acked = append(acked, u)
					mu.Unlock()
				} else if err == nil && reply != "" {
					t.Errorf("register %s: %q", u, reply)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // not polling: the load runs a while before the signal
	err := p.Stop(syscall.SIGTERM, 60*time.Second)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("%v after SIGTERM; stderr %s", err, p.Stderr.String())
	}
	if len(acked) == 0 {
		t.Fatal("no request was answered before the shutdown")
	}
	users := readCSV(t, filepath.Join(dir, "users.csv"))
	have := map[string]bool{}
	for _, r := range users {
		have[r[0]] = true
	}
	for _, u := range acked {
		if !have[u] {
			t.Errorf("acknowledged %s missing after shutdown", u)
		}
	}
}

// userState is what the files say about one user.
type userState struct {
	registered, connected bool
	files                 string // filenames in order, joined by "|"
}

// TestKillAtRandom kills the server with SIGKILL at random moments of a
// concurrent write load, 20 times. After each restart every CSV parses and
// every user is in the state of its last acknowledged operation, or of the
// one after it (sent, not yet answered when the kill came).
func TestKillAtRandom(t *testing.T) {
	dir := t.TempDir()
	// Each user walks these steps; states[k] is its state after step k.
	type step struct {
		op    wire.Op
		extra []string
	}
	steps := []step{
		{wire.Register, nil}, {wire.Connect, []string{"7000"}}, {wire.Publish, []string{"a", "d"}},
		{wire.Publish, []string{"b;x", `"q"`}}, {wire.Delete, []string{"a"}}, {wire.Publish, []string{"c", ""}},
		{wire.Disconnect, nil}, {wire.Connect, []string{"7001"}}, {wire.Publish, []string{"z", "z"}}, {wire.Unregister, nil},
	}
	states := []userState{
		{},
		{true, false, ""}, {true, true, ""}, {true, true, "a"},
		{true, true, "a|b;x"}, {true, true, "b;x"}, {true, true, "b;x|c"},
		{true, false, ""}, {true, true, ""}, {true, true, "z"}, {},
	}
	var mu sync.Mutex
	progress := map[string]int{} // user → steps acknowledged
	rounds := 20
	for round := range rounds {
		p := startProc(t, dir)
		var wg sync.WaitGroup
		for c := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					u := fmt.Sprintf("r%d c%d;%d", round, c, i)
					for k, s := range steps {
						reply, err := tryRequest(p.addr, req(t, s.op, u, s.extra...))
						if err != nil || reply == "" {
							return // killed
						}
						if reply != "0" {
							t.Errorf("%s step %d (%s): %q", u, k, s.op, reply)
							return
						}
						mu.Lock()
						progress[u] = k + 1
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(20+rand.IntN(150)) * time.Millisecond)
		p.Kill()
		wg.Wait()
		if t.Failed() {
			return
		}
		// Load in a fresh server (which reports and repairs), then check
		// the files it left.
		p = startProc(t, dir)
		if r := string(send(t, p.addr, req(t, wire.Register, fmt.Sprintf("check%d", round)))); r != "0" {
			t.Fatalf("round %d: server after restart: %q", round, r)
		}
		// A kill can leave a torn append, or stop a batch between its
		// renames (an UNREGISTER's users.csv done, connected.csv not):
		// the load drops those unacknowledged lines and says so. Any
		// other report would mean a file was damaged.
		for _, l := range strings.Split(p.Stderr.String(), "\n") {
			if strings.Contains(l, "dropped") && !strings.Contains(l, "torn write") && !strings.Contains(l, "user not in users.csv") {
				t.Errorf("round %d: restart reported %s", round, l)
			}
		}
		p.Kill()
		got := diskState(t, dir)
		mu.Lock()
		for u, k := range progress {
			s := got[u]
			if s != states[k] && (k+1 >= len(states) || s != states[k+1]) {
				t.Errorf("round %d: %q acknowledged %d steps, files say %+v", round, u, k, s)
			}
			delete(got, u)
		}
		mu.Unlock()
		for u, s := range got {
			// Users whose first REGISTER was not answered may be there.
			if !strings.HasPrefix(u, "check") && s != states[1] {
				t.Errorf("round %d: unexpected %q in state %+v", round, u, s)
			}
		}
		if t.Failed() {
			return
		}
	}
	mu.Lock()
	t.Logf("%d users checked across %d kills", len(progress), rounds)
	mu.Unlock()
}

// diskState reads the CSVs with encoding/csv: every one must parse.
func diskState(t *testing.T, dir string) map[string]userState {
	t.Helper()
	st := map[string]userState{}
	for _, r := range readCSV(t, filepath.Join(dir, "users.csv")) {
		st[r[0]] = userState{registered: true}
	}
	for _, r := range readCSV(t, filepath.Join(dir, "connected.csv")) {
		s := st[r[0]]
		s.connected = true
		var names []string
		for _, f := range readCSV(t, filepath.Join(dir, "files", r[0]+".csv")) {
			names = append(names, f[0])
		}
		s.files = strings.Join(names, "|")
		st[r[0]] = s
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "files"))
	for _, e := range entries {
		u := strings.TrimSuffix(e.Name(), ".csv")
		if !st[u].connected || strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("stray file files/%s", e.Name())
		}
	}
	return st
}

// TestProcessMaxFiles: -max-files caps one user's list; PUBLISH beyond it
// gets PUBLISH's last code (4), and a DELETE makes room again.
func TestProcessMaxFiles(t *testing.T) {
	p := startProc(t, t.TempDir(), "-sync=false", "-max-files", "2")
	for _, step := range []struct {
		raw  []byte
		want string
	}{
		{req(t, wire.Register, "a"), "0"},
		{req(t, wire.Connect, "a", "1000"), "0"},
		{req(t, wire.Publish, "a", "f1", "d"), "0"},
		{req(t, wire.Publish, "a", "f2", "d"), "0"},
		{req(t, wire.Publish, "a", "f3", "d"), "4"},
		{req(t, wire.Publish, "a", "f1", "d"), "3"}, // already published comes first
		{req(t, wire.Delete, "a", "f1"), "0"},
		{req(t, wire.Publish, "a", "f3", "d"), "0"},
	} {
		if got := string(send(t, p.addr, step.raw)); got != step.want {
			t.Fatalf("%q: reply %q, want %q", step.raw[:12], got, step.want)
		}
	}
}
