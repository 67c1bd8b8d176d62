package central

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/loadgen"
	"p2p/internal/logging"
	"p2p/internal/testenv"
)

// childEnv makes the test binary run a server instead of the tests, so
// that benchmarks measure it as a separate process (its own CPU time) while
// the load generator runs in the test process.
const childEnv = "P2P_CENTRAL_BENCH_CHILD"

// runChild serves "null", "sized" (LIST_USERS carries 100 records) or
// "central" (P2P_BENCH_DIR, P2P_BENCH_SYNC=1) on 127.0.0.1:0, prints the
// address, and exits when its stdin closes.
func runChild(kind string) int {
	var addr string
	var stop func()
	switch kind {
	case "null", "sized":
		var reply []byte
		if kind == "sized" {
			reply = loadgen.ListUsersReply(100)
		}
		s, err := loadgen.StartNull("127.0.0.1:0", reply)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		addr, stop = s.Addr().String(), func() { s.Close() }
	case "central":
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		st, err := csvstore.Open(csvstore.Options{Dir: os.Getenv("P2P_BENCH_DIR"), Sync: os.Getenv("P2P_BENCH_SYNC") == "1"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s, err := Start(Config{Addr: "127.0.0.1:0", Directory: directory.New(st, directory.Options{Log: logging.New(os.Stderr, "")}), Console: devnull})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		addr, stop = s.Addr().String(), func() {
			s.Close()
			st.Close()
			if os.Getenv("P2P_BENCH_STATS") != "" {
				x := st.Stats()
				fmt.Fprintf(os.Stderr, "central: %d changes in %d batches (%.1f per sync), %v writing\n",
					x.Changes, x.Batches, float64(x.Changes)/float64(max(x.Batches, 1)), x.WriteTime)
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown child", kind)
		return 2
	}
	if prof := os.Getenv("P2P_BENCH_CPUPROFILE"); prof != "" {
		// Profile the server side of a benchmark: P2P_BENCH_CPUPROFILE=file.
		if f, err := os.Create(prof + "." + kind); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	fmt.Println(addr)
	io.Copy(io.Discard, os.Stdin)
	stop()
	return 0
}

// child is a server started by startChild: the test binary itself, run
// with childEnv.
type child struct {
	*testenv.Proc
	addr string
}

// startChild starts a child serving kind, with env added to its
// environment, and waits for its address.
func startChild(b testing.TB, kind string, env ...string) *child {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+kind)...)
	cmd.Stderr = os.Stderr // the statistics P2P_BENCH_STATS asks for
	c := &child{Proc: testenv.Start(b, cmd)}
	// Loading 100,000 users with -race takes a while.
	c.addr = c.Line(c.Stdout, 5*time.Minute, regexp.MustCompile(`^\S+:\d+$`))[0]
	b.Cleanup(c.stop)
	return c
}

// stop ends the child as it expects: by closing its stdin, so that it
// closes its server (and reports its statistics) before it exits.
func (c *child) stop() {
	c.Stdin.Close()
	c.Wait(time.Minute)
}

// cpu is the child's CPU time so far.
func (c *child) cpu(b testing.TB) time.Duration {
	d, err := loadgen.ProcessCPU(c.Pid())
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// measure runs a load against the child and returns the result and the
// child's CPU time per request.
func (c *child) measure(b testing.TB, clients, n int, request func(int) []byte) (loadgen.Result, time.Duration) {
	b.Helper()
	cpu0 := c.cpu(b)
	r := loadgen.Run(c.addr, clients, n, request)
	cpu := c.cpu(b) - cpu0
	if r.Errors > 0 || r.Requests != n {
		b.Fatalf("%d errors (first: %v) in %d requests", r.Errors, r.FirstErr, n)
	}
	return r, cpu / time.Duration(max(r.Requests, 1))
}
