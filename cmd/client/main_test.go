package main

import (
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"p2p/internal/central"
	"p2p/internal/datetime"
	"p2p/internal/logging"
	"p2p/internal/peer"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

func TestFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		says string
	}{
		{nil, 2, "-s and -p are required"},
		{[]string{"-s", "localhost"}, 2, "-s and -p are required"},
		{[]string{"-s", "localhost", "-p", "80"}, 2, "not in 1024..65535"},
		{[]string{"-s", "localhost", "-p", "65536"}, 2, "not in 1024..65535"},
		{[]string{"-s", "localhost", "-p", "x"}, 2, "not in 1024..65535"},
		{[]string{"-s", "localhost", "-p", "8888", "-z"}, 2, "flag provided but not defined"},
		{[]string{"-s", "localhost", "-p", "8888", "extra"}, 2, "unexpected argument"},
		{[]string{"-h"}, 0, "-w string"},
	}
	for _, c := range cases {
		errf, _ := os.CreateTemp(t.TempDir(), "stderr")
		code := run(c.args, os.Stdin, os.Stdout, errf)
		errf.Seek(0, 0)
		msg, _ := io.ReadAll(errf)
		errf.Close()
		if code != c.code || !strings.Contains(string(msg), c.says) || !strings.Contains(string(msg), usage) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, msg, c.code, c.says)
		}
	}
}

func TestMain(m *testing.M) { testenv.Main(m) }

// buildClient builds this command, once for the tests; race adds -race.
func buildClient(t *testing.T, race bool) string {
	t.Helper()
	if race {
		return testenv.Build(t, "client", "-race")
	}
	return testenv.Build(t, "client")
}

// services starts a real central server and web service in the test and
// returns the client's flags for them.
func services(t *testing.T) (args []string, srvDir string) {
	t.Helper()
	srvDir = t.TempDir()
	srv, err := central.Start(central.Config{Addr: "127.0.0.1:0", Directory: testenv.CSVDirectory(t, srvDir), Console: io.Discard, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ws := httptest.NewServer(datetime.NewHandler())
	t.Cleanup(ws.Close)
	_, port, _ := strings.Cut(srv.Addr().String(), ":")
	return []string{"-s", "127.0.0.1", "-p", port, "-w", ws.URL + "/", "-l", "127.0.0.1:0"}, srvDir
}

// TestPeakRSS downloads a file much larger than the limit with the real
// client binary and reads its peak resident set (VmHWM) from /proc.
func TestPeakRSS(t *testing.T) {
	const size = 300 << 20
	const limit = 32 << 20
	bin := buildClient(t, false)
	args, _ := services(t)

	// The serving peer: in this process, a sparse file of size bytes.
	srcDir := t.TempDir()
	f, _ := os.Create(filepath.Join(srcDir, "big.bin"))
	f.Truncate(size)
	f.Close()
	files := peer.NewCatalog(srcDir)
	files.Add(wire.FileRecord{Filename: "big.bin"})
	srv, err := peer.Listen("127.0.0.1:0", files, peer.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	dir := t.TempDir()
	list := fmt.Sprintf(`[{"Username": "alice", "IP address": "127.0.0.1", "Port": "%d"}]`, srv.Port())
	os.WriteFile(filepath.Join(dir, "listusers-rss.json"), []byte(list), 0o644)

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	p := testenv.Start(t, cmd)
	read := 0
	next := func() string {
		t.Helper()
		p.WaitFor(120*time.Second, "a line of output", func() bool { return len(p.Stdout.Lines()) > read })
		read++
		return p.Stdout.Lines()[read-1]
	}
	fmt.Fprintln(p.Stdin, "REGISTER rss")
	next()
	if got := next(); got != "REGISTER OK" {
		t.Fatalf("REGISTER: %q", got)
	}
	fmt.Fprintln(p.Stdin, "GET_FILE alice big.bin copy.bin")
	next()
	if got := next(); got != "GET_FILE OK" {
		t.Fatalf("GET_FILE: %q; stderr: %s", got, p.Stderr.String())
	}
	kb := peakRSS(t, p.Pid())
	t.Logf("peak RSS of the receiving client: %d KiB for a %d MiB file", kb, size>>20)
	if kb*1024 > limit {
		t.Errorf("peak RSS %d KiB > %d KiB", kb, limit>>10)
	}
	if st, err := os.Stat(filepath.Join(dir, "copy.bin")); err != nil || st.Size() != size {
		t.Errorf("copy.bin: %v", err)
	}
	p.Stdin.Close()
	if err := p.Wait(60 * time.Second); err != nil {
		t.Errorf("exit: %v; stderr: %s", err, p.Stderr.String())
	}
	// stderr is no terminal: no progress line, no terminal codes.
	if strings.ContainsAny(p.Stderr.String(), "\r\x1b%") {
		t.Errorf("progress on a stderr that is no terminal: %q", p.Stderr.String())
	}
}

// peakRSS reads the peak resident set (VmHWM), in KiB, of the running
// process pid from /proc.
func peakRSS(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmHWM in %s", status)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb
}

// TestSignalDisconnects: SIGINT and SIGTERM act like QUIT.
func TestSignalDisconnects(t *testing.T) {
	bin := buildClient(t, false)
	args, srvDir := services(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			user := strings.ReplaceAll(sig.String(), " ", "-")
			cmd := exec.Command(bin, args...)
			cmd.Dir = t.TempDir()
			p := testenv.Start(t, cmd)
			fmt.Fprintln(p.Stdin, "REGISTER "+user)
			fmt.Fprintln(p.Stdin, "CONNECT "+user)
			p.WaitFor(30*time.Second, "CONNECT OK", func() bool { return strings.Contains(p.Stdout.String(), "CONNECT OK") })
			if err := p.Stop(sig, 30*time.Second); err != nil {
				t.Errorf("exit after %v: %v; %s", sig, err, p)
			}
			if !strings.Contains(p.Stdout.String(), "DISCONNECT OK") {
				t.Errorf("no DISCONNECT on %v: %s", sig, p)
			}
			if got, _ := os.ReadFile(filepath.Join(srvDir, "connected.csv")); len(got) != 0 {
				t.Errorf("connected.csv = %q", got)
			}
		})
	}
}

func TestHistoryPath(t *testing.T) {
	x := filepath.Join(t.TempDir(), "state")
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	cases := []struct {
		flag optString
		env  func(string) (string, bool)
		want string
	}{
		{optString{"h.txt", true}, env("P2P_HISTORY", "/e", "HOME", "/home/u"), "h.txt"},
		{optString{"", true}, env("P2P_HISTORY", "/e", "HOME", "/home/u"), ""},
		{optString{}, env("P2P_HISTORY", "/e", "HOME", "/home/u"), "/e"},
		{optString{}, env("P2P_HISTORY", "", "HOME", "/home/u"), ""},
		{optString{}, env("XDG_STATE_HOME", x, "HOME", "/home/u"), filepath.Join(x, "p2p_history")},
		{optString{}, env("XDG_STATE_HOME", "relative", "HOME", "/home/u"), "/home/u/.p2p_history"},
		{optString{}, env("HOME", "/home/u"), "/home/u/.p2p_history"},
		{optString{}, env(), ""},
	}
	for i, c := range cases {
		if got := historyPath(c.flag, c.env); got != c.want {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
	if st, err := os.Stat(x); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("XDG_STATE_HOME not made for its owner: %v", err)
	}
}

// TestNoHistoryFromPipe: commands read from a pipe never reach a history
// file, whether one is named (-history, P2P_HISTORY) or the default one
// would be used.
func TestNoHistoryFromPipe(t *testing.T) {
	bin := buildClient(t, false)
	args, _ := services(t)
	home, state := t.TempDir(), t.TempDir()
	named := filepath.Join(t.TempDir(), "named_history")
	for _, extra := range [][]string{nil, {"-history", named}} {
		for _, env := range [][]string{{"HOME=" + home}, {"HOME=" + home, "XDG_STATE_HOME=" + state}, {"HOME=" + home, "P2P_HISTORY=" + named}} {
			cmd := exec.Command(bin, append(append([]string{}, args...), extra...)...)
			cmd.Dir = t.TempDir()
			cmd.Env = env
			cmd.Stdin = strings.NewReader("REGISTER piped\nLIST_USERS\nQUIT\n")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "LIST_USERS FAIL, USER NOT CONNECTED") {
				t.Fatalf("%q %q: %v\n%s", extra, env, err, out)
			}
		}
	}
	for _, dir := range []string{home, state, filepath.Dir(named)} {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("files written in %s: %v", dir, ents)
		}
	}
}
