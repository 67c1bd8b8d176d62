package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// The scale-out variant (PROTOCOL.md §4, "Beyond one machine"): two
// servers on one PostgreSQL database behind HAProxy, as `make cluster`
// runs them, with the repository's scripts/haproxy.cfg.

// cluster is a running scale-out directory.
type cluster struct {
	t       *testing.T
	dsn     string
	front   string   // HAProxy
	addrs   []string // the servers, direct
	servers []*proc
}

// startCluster starts two servers on a fresh database (of pg, or of the
// test binary's shared PostgreSQL when pg is nil), trusting PROXY headers
// from 127.0.0.1 only, and HAProxy in front of them.
func startCluster(t *testing.T, pg *testenv.PGCluster) *cluster {
	t.Helper()
	c := &cluster{t: t, front: testenv.ListenAddr(t)}
	if pg != nil {
		c.dsn = pg.CreateDatabase(t)
	} else {
		c.dsn = testenv.Postgres(t)
	}
	for range 2 {
		c.addrs = append(c.addrs, testenv.ListenAddr(t))
	}
	c.servers = make([]*proc, len(c.addrs))
	for i := range c.addrs {
		c.startServer(i)
	}
	testenv.HAProxy(t, c.front, c.addrs[0], c.addrs[1])
	return c
}

// startServer starts (or restarts) server i on its port.
func (c *cluster) startServer(i int) {
	c.t.Helper()
	_, port, _ := net.SplitHostPort(c.addrs[i])
	p := start(c.t, c.t.TempDir(), []string{"LOG_RPC_PORT=1"}, "server",
		"-p", port, "-db", c.dsn, "-proxy", "127.0.0.1", "-store-timeout", "2s")
	if got := p.expect(1)[0]; !strings.HasPrefix(got, "s> init server ") {
		c.t.Fatalf("server %d's first line %q; stderr %s", i, got, p.Stderr.String())
	}
	c.servers[i] = p
}

var client = wire.Client{Timeout: 20 * time.Second}

// do sends one request to addr and returns its status ('0'..'9'), with
// the list when there is one, or "no reply".
func do(t *testing.T, addr string, from string, op wire.Op, user string, extra ...string) string {
	t.Helper()
	st, list, err := try(addr, from, op, user, extra...)
	if err != nil {
		t.Fatalf("%s %s via %s: %v", op, user, addr, err)
	}
	return string(st.Byte()) + list
}

// request is testenv.Request at the e2e tests' datetime.
func request(op wire.Op, user string, extra ...string) wire.Request {
	return testenv.Request(op, "01/12/2026 20:00:00", user, extra...)
}

// try is do without failing the test: the error says there was no reply.
func try(addr, from string, op wire.Op, user string, extra ...string) (wire.Status, string, error) {
	req := request(op, user, extra...)
	cl := client
	if from != "" {
		cl.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	var list string
	st, err := cl.Do(context.Background(), addr, req, func(r io.Reader) error {
		switch op {
		case wire.ListUsers:
			recs, err := wire.ReadUserList(r)
			for _, u := range recs {
				list += fmt.Sprintf(" %s@%s:%s", u.Username, u.IP, u.Port)
			}
			return err
		case wire.ListContent:
			recs, err := wire.ReadFileList(r)
			for _, f := range recs {
				list += " " + f.Filename
			}
			return err
		}
		return nil
	})
	return st, list, err
}

// operations counts the console lines of requests a server parsed.
func (p *proc) operations() int {
	n := 0
	for _, l := range p.Stdout.Lines() {
		if strings.HasPrefix(l, "s> OPERATION FROM ") {
			n++
		}
	}
	return n
}

// TestClusterOneState: through HAProxy, requests alternate between the two
// servers and see one directory; CONNECT records the client's own address
// (HAProxy's PROXY header), and a PROXY header from anyone but the
// balancer is not believed.
func TestClusterOneState(t *testing.T) {
	c := startCluster(t, nil)
	f := c.front
	steps := []struct {
		op    wire.Op
		user  string
		extra []string
		want  string
	}{
		{wire.Register, "alice", nil, "0"},
		{wire.Register, "alice", nil, "1"},
		{wire.Register, "bob", nil, "0"},
		{wire.Connect, "alice", []string{"4000"}, "0"},
		{wire.Connect, "alice", []string{"4001"}, "2"},
		{wire.Publish, "alice", []string{"song.mp3", "a song"}, "0"},
		{wire.Publish, "alice", []string{"song.mp3", "again"}, "3"},
		{wire.Publish, "bob", []string{"x", ""}, "2"},
		{wire.Connect, "bob", []string{"4002"}, "0"},
		{wire.ListUsers, "bob", nil, "0 alice@127.0.0.1:4000 bob@127.0.0.1:4002"},
		{wire.ListContent, "bob", []string{"alice"}, "0 song.mp3"},
		{wire.Delete, "alice", []string{"song.mp3"}, "0"},
		{wire.ListContent, "bob", []string{"alice"}, "0"},
		{wire.Disconnect, "alice", nil, "0"},
		{wire.Unregister, "alice", nil, "0"},
		{wire.ListContent, "bob", []string{"alice"}, "3"},
	}
	for _, s := range steps {
		if got := do(t, f, "", s.op, s.user, s.extra...); got != s.want {
			t.Fatalf("%s %s %v: %q, want %q", s.op, s.user, s.extra, got, s.want)
		}
	}
	// Round robin: the requests went to both servers, about half each
	// (HAProxy may redispatch a connection that failed to connect).
	// (Each console line is printed before its reply, but read from the
	// pipe a moment later.)
	counts := make([]int, len(c.servers))
	total := 0
	testenv.Poll(5*time.Second, func() bool {
		total = 0
		for i, p := range c.servers {
			counts[i] = p.operations()
			total += counts[i]
		}
		return total >= len(steps)
	})
	for i, n := range counts {
		if n < len(steps)/4 {
			t.Errorf("server %d parsed %d requests of %d: they do not alternate", i, n, len(steps))
		}
	}
	if total != len(steps) {
		t.Errorf("the servers parsed %d requests, want %d", total, len(steps))
	}

	// The client's own address, from another host (127.0.0.2).
	if got := do(t, f, "127.0.0.2", wire.Register, "carol"); got != "0" {
		t.Fatal(got)
	}
	if got := do(t, f, "127.0.0.2", wire.Connect, "carol", "5000"); got != "0" {
		t.Fatal(got)
	}
	if got := do(t, f, "", wire.ListUsers, "bob"); got != "0 bob@127.0.0.1:4002 carol@127.0.0.2:5000" {
		t.Errorf("LIST_USERS after CONNECT from 127.0.0.2: %q", got)
	}

	// Forged headers: sent straight to a server from 127.0.0.2, which is
	// not a trusted balancer, and sent by a client through HAProxy (the
	// server then reads HAProxy's header, and the client's as a cop).
	do(t, f, "", wire.Register, "mallory")
	body, err := wire.AppendRequest(nil, request(wire.Connect, "mallory", "6000"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 1234}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8888})
	var v2 bytes.Buffer
	if _, err := hdr.WriteTo(&v2); err != nil {
		t.Fatal(err)
	}
	v1 := []byte("PROXY TCP4 10.9.9.9 127.0.0.1 1234 8888\r\n")
	for _, forged := range []struct {
		name, addr string
		header     []byte
	}{
		{"v2 header straight to a server from 127.0.0.2", c.addrs[0], v2.Bytes()},
		{"v1 header straight to a server from 127.0.0.2", c.addrs[1], v1},
		{"v2 header through HAProxy", f, v2.Bytes()},
		{"v1 header through HAProxy", f, v1},
	} {
		cl := client
		cl.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
		st, err := cl.DoRaw(context.Background(), forged.addr, append(append([]byte(nil), forged.header...), body...), nil)
		if !errors.Is(err, wire.ErrNoReply) {
			t.Errorf("%s: status %q, error %v; want the connection closed without a reply", forged.name, st.Byte(), err)
		}
	}
	if got := do(t, f, "", wire.ListUsers, "bob"); strings.Contains(got, "mallory") || strings.Contains(got, "10.9.9.9") {
		t.Errorf("a forged header connected mallory: %q", got)
	}
}

// TestClusterConcurrentWriters: 32 clients writing at once through HAProxy
// lose nothing and double nothing.
func TestClusterConcurrentWriters(t *testing.T) {
	c := startCluster(t, nil)
	const writers, files = 32, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("writer%02d", w)
			steps := [][]string{{"REGISTER"}, {"CONNECT", fmt.Sprint(7000 + w)}}
			for i := range files {
				steps = append(steps, []string{"PUBLISH", fmt.Sprintf("f%02d", i), "d"})
			}
			steps = append(steps, []string{"DELETE", "f00"})
			for _, s := range steps {
				st, _, err := try(c.front, "", wire.Op(s[0]), u, s[1:]...)
				if err != nil || st != wire.StatusOK {
					t.Errorf("%s %v: status %c, %v", u, s, st.Byte(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	do(t, c.front, "", wire.Register, "reader")
	do(t, c.front, "", wire.Connect, "reader", "1")
	users := do(t, c.front, "", wire.ListUsers, "reader")
	if n := strings.Count(users, "@"); n != writers+1 {
		t.Errorf("%d users connected, want %d: %s", n, writers+1, users)
	}
	var want []string
	for i := 1; i < files; i++ {
		want = append(want, fmt.Sprintf("f%02d", i))
	}
	for w := range writers {
		u := fmt.Sprintf("writer%02d", w)
		// Straight to each server, from an address that is not the
		// balancer's (from 127.0.0.1 a server wants a PROXY header).
		if got := do(t, c.addrs[w%2], "127.0.0.3", wire.ListContent, "reader", u); got != "0 "+strings.Join(want, " ") {
			t.Errorf("LIST_CONTENT %s: %q", u, got)
		}
	}
}

// ledger records what a load saw of each name it registered.
type ledger struct {
	mu       sync.Mutex
	acked    []string
	refused  []string
	unknown  int
	answered int
	slowest  time.Duration
}

// load registers new names through addr from n goroutines until stop is
// closed.
func (l *ledger) load(addr, prefix string, n int, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("%s-%d-%d", prefix, g, i)
				t0 := time.Now()
				st, _, err := try(addr, "", wire.Register, name)
				took := time.Since(t0)
				l.mu.Lock()
				l.slowest = max(l.slowest, took)
				switch {
				case err != nil:
					l.unknown++
				case st == wire.StatusOK:
					l.acked = append(l.acked, name)
					l.answered++
				default:
					l.refused = append(l.refused, name)
					l.answered++
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond) // a server down: do not spin
				}
			}
		}()
	}
	return &wg
}

// check asserts that every acknowledged name is registered and, when
// refusedAbsent, that no refused one is.
func (l *ledger) check(t *testing.T, addr string, refusedAbsent bool) {
	t.Helper()
	for _, name := range l.acked {
		if got := do(t, addr, "", wire.Register, name); got != "1" {
			t.Errorf("acknowledged REGISTER %s is lost (REGISTER again: %s)", name, got)
		}
	}
	if !refusedAbsent {
		return
	}
	for _, name := range l.refused {
		if got := do(t, addr, "", wire.Register, name); got != "0" {
			t.Errorf("refused REGISTER %s is present (REGISTER again: %s)", name, got)
		}
	}
}

// TestClusterServerKilled: a server SIGKILLed under load and restarted,
// ten times: everything acknowledged is present, nothing refused is.
func TestClusterServerKilled(t *testing.T) {
	// Commits wait for their WAL: what was acknowledged survives.
	c := startCluster(t, testenv.NewPostgres(t, testenv.PostgresOptions{SyncCommit: true}))
	var l ledger
	stop := make(chan struct{})
	wg := l.load(c.front, "k", 4, stop)
	for round := range 10 {
		time.Sleep(150 * time.Millisecond) // not polling: the load runs between kills
		i := round % 2
		c.servers[i].Kill()
		c.startServer(i)
	}
	time.Sleep(150 * time.Millisecond) // not polling: the load runs after the last restart
	close(stop)
	wg.Wait()
	t.Logf("%d acknowledged, %d refused, %d without a reply", len(l.acked), len(l.refused), l.unknown)
	if len(l.acked) < 20 {
		t.Fatalf("only %d registrations acknowledged in ten rounds: the load did not run", len(l.acked))
	}
	l.check(t, c.front, true)
}

// TestClusterPostgresStopped: PostgreSQL stopped under load: every request
// is answered or closed within the servers' timeouts; once it is back,
// service resumes by itself with everything acknowledged present.
func TestClusterPostgresStopped(t *testing.T) {
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{SyncCommit: true})
	c := startCluster(t, pg)
	var l ledger
	stop := make(chan struct{})
	wg := l.load(c.front, "p", 4, stop)
	time.Sleep(300 * time.Millisecond) // not polling: the load runs before the crash
	pg.Kill()                          // as a crash would
	time.Sleep(3 * time.Second)        // longer than -store-timeout: the outage is seen
	l.mu.Lock()
	during := l.answered
	l.mu.Unlock()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	var st wire.Status
	var err error
	if !testenv.Poll(30*time.Second, func() bool {
		st, _, err = try(c.front, "", wire.Register, fmt.Sprintf("probe-%d", time.Now().UnixNano()))
		return err == nil && st == wire.StatusOK
	}) {
		t.Fatalf("service did not resume within 30 s of PostgreSQL's return (last: %c %v)", st.Byte(), err)
	}
	time.Sleep(300 * time.Millisecond) // not polling: the load runs after the recovery
	close(stop)
	wg.Wait()
	t.Logf("%d acknowledged, %d refused, %d without a reply; slowest request %v", len(l.acked), len(l.refused), l.unknown, l.slowest)
	// read 5s + store 2s + write 10s are the servers' bounds; HAProxy's are 30s.
	if l.slowest > 17*time.Second {
		t.Errorf("a request took %v: longer than the servers' timeouts", l.slowest)
	}
	if l.answered == during {
		t.Errorf("no request was answered after PostgreSQL returned")
	}
	for i, p := range c.servers {
		if w := p.Stderr.String(); !strings.Contains(w, "directory:") {
			t.Errorf("server %d did not warn about the outage: %q", i, w)
		} else if n := strings.Count(w, "until the store works again"); n != 1 {
			t.Errorf("server %d warned %d times for one outage: %q", i, n, w)
		}
	}
	// A commit cut by the outage has an unknown outcome (README): only the
	// acknowledged are checked.
	l.check(t, c.front, false)
}

// TestMakeCluster runs scripts/cluster.sh (make cluster) on other ports
// with its PostgreSQL data in a temporary folder: a client at its prompt
// registers, connects and publishes, another client downloads the file
// from it through the cluster, QUIT stops everything, and a second run
// carries on with the same data.
func TestMakeCluster(t *testing.T) {
	testenv.LookPath(t, "haproxy")
	root := testenv.RepoRoot()
	// The script runs the binaries in the repository's root, where `make`
	// builds them.
	for _, name := range []string{"server", "client", "ws-server", "rpc_server"} {
		b, err := os.ReadFile(testenv.Build(t, name))
		if err != nil {
			t.Fatal(err)
		}
		// A new file renamed over the old: one may be running.
		tmp := filepath.Join(root, "."+name+".test-tmp")
		if err := os.WriteFile(tmp, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	pgdata, err := os.MkdirTemp("", "p2p-cluster-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pgdata) })
	os.Chmod(pgdata, 0o755)
	port := testenv.FreePort(t)
	env := []string{
		"P2P_PGDATA=" + filepath.Join(pgdata, "data"),
		fmt.Sprintf("WS_PORT=%d", testenv.FreePort(t)), fmt.Sprintf("RPC_PORT=%d", testenv.FreePort(t)),
		fmt.Sprintf("S1_PORT=%d", testenv.FreePort(t)), fmt.Sprintf("S2_PORT=%d", testenv.FreePort(t)),
		fmt.Sprintf("PG_PORT=%d", testenv.FreePort(t)),
	}
	wsURL := "http://127.0.0.1:" + strings.TrimPrefix(env[1], "WS_PORT=") + "/"
	aliceDir, bobDir := t.TempDir(), t.TempDir()
	song := make([]byte, 1<<20+7)
	rand.Read(song)
	if err := os.WriteFile(filepath.Join(aliceDir, "song.mp3"), song, 0o644); err != nil {
		t.Fatal(err)
	}

	run := func() *proc {
		t.Helper()
		cmd := exec.Command(filepath.Join(root, "scripts", "cluster.sh"), fmt.Sprint(port))
		cmd.Env = append(append(os.Environ(), env...), "P2P_CLIENT_DIR="+aliceDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		p := &proc{Proc: testenv.Start(t, cmd), t: t, name: "make cluster"}
		// Before the kill Start registered: SIGTERM lets the script stop
		// PostgreSQL and the rest of the group itself.
		t.Cleanup(func() {
			p.Signal(syscall.SIGTERM)
			p.Wait(60 * time.Second)
		})
		return p
	}
	alice := run()
	alice.command("REGISTER alice", "REGISTER OK")
	alice.command("CONNECT alice", "CONNECT OK")
	alice.command("PUBLISH song.mp3 a song I like", "PUBLISH OK")

	bob := start(t, bobDir, nil, "client", "-s", "127.0.0.1", "-p", fmt.Sprint(port), "-w", wsURL)
	bob.command("REGISTER bob", "REGISTER OK")
	bob.command("CONNECT bob", "CONNECT OK")
	bob.command("LIST_USERS", "LIST_USERS OK", "\talice 127\\.0\\.0\\.1 \\d+", "\tbob 127\\.0\\.0\\.1 \\d+")
	bob.command("LIST_CONTENT alice", "LIST_CONTENT OK", "\tsong\\.mp3 \"a song I like\"")
	bob.command("GET_FILE alice song.mp3 copy.mp3", "GET_FILE OK")
	if got, err := os.ReadFile(filepath.Join(bobDir, "copy.mp3")); err != nil || !bytes.Equal(got, song) {
		t.Errorf("downloaded file differs (%d bytes, %v)", len(got), err)
	}
	bob.send("QUIT")
	alice.send("QUIT")
	if err := alice.Wait(60 * time.Second); err != nil {
		t.Errorf("make cluster exited with %v; stderr: %s", err, alice.Stderr.String())
	}
	if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Errorf("HAProxy still listens on %d after the client quit", port)
	}

	// A second run carries on: the data stayed in its folder.
	again := run()
	again.command("REGISTER alice", "USERNAME IN USE")
	again.command("CONNECT alice", "CONNECT OK")
	again.send("QUIT")
	if err := again.Wait(60 * time.Second); err != nil {
		t.Errorf("second make cluster exited with %v; stderr: %s", err, again.Stderr.String())
	}
}
