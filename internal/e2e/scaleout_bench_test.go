package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"p2p/internal/loadgen"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// The scale-out benchmark (issue: "Beyond one machine"): the operations of
// §2 at 16 clients, everything durable (the CSV server syncs; PostgreSQL
// runs with fsync and synchronous_commit on), for
//
//	csv  the CSV server,
//	pg1  one server on PostgreSQL,
//	pg2  two servers on PostgreSQL behind HAProxy,
//
// with the CPU time per request of every process: the load generator
// (this process), HAProxy, each server, PostgreSQL (postmaster and
// backends). Each phase is measured for the three setups one after the
// other, twice, in alternating order, so that the shared machine's drift
// hits them alike.
//
//	go test -run '^$' -bench ScaleOut -benchtime 1x ./internal/e2e
//
// Targets: x-csv-server-cpu-<op> (a PostgreSQL server's CPU per request
// over the CSV server's) ≤ 1.5; x-100-<op> (PostgreSQL with 100,000
// registered users over 100) ≥ 0.8.

const (
	scaleClients = 16
	scalePhase   = 3000 // requests per phase, setup and round
)

// setup is one way of running the directory, with the processes that
// make it.
type setup struct {
	name    string
	addr    string          // where clients connect
	servers []*testenv.Proc // central servers
	haproxy *testenv.Proc   // nil without
	pg      int             // postmaster pid, 0 without
}

// cpu is the CPU time, so far, of each part of a setup.
type cpu struct{ load, haproxy, servers, pg time.Duration }

func (s *setup) cpu(b *testing.B) cpu {
	var c cpu
	c.load = testenv.CPUTime()
	for _, srv := range s.servers {
		d, err := loadgen.ProcessCPU(srv.Pid())
		if err != nil {
			b.Fatal(err)
		}
		c.servers += d
	}
	if s.haproxy != nil {
		c.haproxy, _ = loadgen.ProcessCPU(s.haproxy.Pid())
	}
	if s.pg != 0 {
		c.pg, _ = loadgen.TreeCPU(s.pg)
	}
	return c
}

// startBenchServer runs the server binary with args on a free port.
func startBenchServer(b *testing.B, args ...string) (*testenv.Proc, string) {
	b.Helper()
	addr := testenv.ListenAddr(b)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(testenv.Build(b, "server"), append([]string{"-p", port}, args...)...)
	cmd.Dir = b.TempDir()
	cmd.Env = append(os.Environ(), "LOG_RPC_PORT=1") // no log server: entries are dropped
	// The console's line per request is not kept (nor measured in this
	// process's CPU time).
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	cmd.Stdout = devnull
	p := testenv.Start(b, cmd)
	p.WaitListening(20*time.Second, addr)
	return p, addr
}

// benchReq is the bytes of one request.
func benchReq(op wire.Op, user string, extra ...string) []byte {
	msg, err := wire.AppendRequest(nil, request(op, user, extra...))
	if err != nil {
		panic(err)
	}
	return msg
}

// seed registers users base0..base<users-1> through addr, connects the
// first connected of them and publishes files files for base0.
func seed(b *testing.B, addr string, users, connected, files int) {
	b.Helper()
	must := func(r loadgen.Result, what string) {
		if r.OK != r.Requests || r.Errors > 0 {
			b.Fatalf("seeding %s: %d of %d answered 0 (%d errors, first %v)", what, r.OK, r.Requests, r.Errors, r.FirstErr)
		}
	}
	must(loadgen.Run(addr, scaleClients, users, func(i int) []byte { return benchReq(wire.Register, fmt.Sprintf("base%d", i)) }), "users")
	must(loadgen.Run(addr, 1, connected, func(i int) []byte { return benchReq(wire.Connect, fmt.Sprintf("base%d", i), "40000") }), "connections")
	must(loadgen.Run(addr, 1, files, func(i int) []byte {
		return benchReq(wire.Publish, "base0", fmt.Sprintf("file%02d.txt", i), "description of a file")
	}), "files")
}

// phase is one measured operation: request(round, i) for i in 0..n-1;
// round is unique to each round of each measure, so that new names are new.
type phase struct {
	name    string
	request func(round, i int) []byte
}

// rounds counts the rounds measured, for phase names.
var rounds int

var scalePhases = []phase{
	{"register", func(r, i int) []byte { return benchReq(wire.Register, fmt.Sprintf("u%d-%d", r, i)) }},
	{"connect", func(r, i int) []byte { return benchReq(wire.Connect, fmt.Sprintf("u%d-%d", r, i), "40000") }},
	{"publish", func(r, i int) []byte {
		return benchReq(wire.Publish, fmt.Sprintf("u%d-%d", r, i), "song.mp3", "a song I like")
	}},
	{"disconnect", func(r, i int) []byte { return benchReq(wire.Disconnect, fmt.Sprintf("u%d-%d", r, i)) }},
	{"list-users", func(r, i int) []byte { return benchReq(wire.ListUsers, "base1") }},
	{"list-content", func(r, i int) []byte { return benchReq(wire.ListContent, "base1", "base0") }},
}

// figures are one setup's sums over the rounds of one phase.
type figures struct {
	reqs    int
	elapsed time.Duration
	cpu     cpu
}

func (f figures) rate() float64 { return float64(f.reqs) / f.elapsed.Seconds() }

// perReq is a CPU time per request in µs.
func (f figures) perReq(d time.Duration) float64 {
	return float64(d.Microseconds()) / float64(max(f.reqs, 1))
}

// measure runs every phase on every setup, twice, alternating the order.
func measure(b *testing.B, setups []*setup) map[string][]figures {
	out := make(map[string][]figures)
	for _, ph := range scalePhases {
		out[ph.name] = make([]figures, len(setups))
	}
	for r := range 2 {
		rounds++
		round := rounds
		for _, ph := range scalePhases {
			for k := range setups {
				idx := k
				if r == 1 {
					idx = len(setups) - 1 - k
				}
				s := setups[idx]
				c0 := s.cpu(b)
				r := loadgen.Run(s.addr, scaleClients, scalePhase, func(i int) []byte { return ph.request(round, i) })
				c1 := s.cpu(b)
				if r.Errors > 0 || r.OK != r.Requests {
					st, err := client.DoRaw(context.Background(), s.addr, ph.request(round, 0), nil)
					b.Fatalf("%s %s: %d of %d answered 0, %d errors (first %v); again: %c %v", s.name, ph.name, r.OK, r.Requests, r.Errors, r.FirstErr, st.Byte(), err)
				}
				f := &out[ph.name][idx]
				f.reqs += r.Requests
				f.elapsed += r.Elapsed
				f.cpu.load += c1.load - c0.load
				f.cpu.haproxy += c1.haproxy - c0.haproxy
				f.cpu.servers += c1.servers - c0.servers
				f.cpu.pg += c1.pg - c0.pg
			}
		}
	}
	return out
}

// BenchmarkScaleOut measures csv, pg1 and pg2 (see above), then pg1 with
// 100,000 registered users against 100.
func BenchmarkScaleOut(b *testing.B) {
	testenv.LookPath(b, "haproxy")
	for b.Loop() {
		pg := testenv.NewPostgres(b, testenv.PostgresOptions{Durable: true})
		var setups []*setup

		csvSrv, csvAddr := startBenchServer(b, "-d", b.TempDir(), "-sync=true")
		setups = append(setups, &setup{name: "csv", addr: csvAddr, servers: []*testenv.Proc{csvSrv}})

		dsn1 := pg.CreateDatabase(b)
		s1, a1 := startBenchServer(b, "-db", dsn1)
		setups = append(setups, &setup{name: "pg1", addr: a1, servers: []*testenv.Proc{s1}, pg: pg.PID()})

		dsn2 := pg.CreateDatabase(b)
		s2a, a2a := startBenchServer(b, "-db", dsn2, "-proxy", "127.0.0.1")
		s2b, a2b := startBenchServer(b, "-db", dsn2, "-proxy", "127.0.0.1")
		front := testenv.ListenAddr(b)
		hap := testenv.HAProxy(b, front, a2a, a2b)
		setups = append(setups, &setup{name: "pg2", addr: front, servers: []*testenv.Proc{s2a, s2b}, haproxy: hap, pg: pg.PID()})

		for _, s := range setups {
			seed(b, s.addr, 100, 100, 20)
		}
		figs := measure(b, setups)
		for _, ph := range scalePhases {
			f := figs[ph.name]
			for k, s := range setups {
				b.ReportMetric(f[k].rate(), s.name+"-"+ph.name+"-req/s")
				b.ReportMetric(f[k].perReq(f[k].cpu.servers), s.name+"-"+ph.name+"-server-cpu-us/req")
				b.ReportMetric(f[k].perReq(f[k].cpu.load), s.name+"-"+ph.name+"-loadgen-cpu-us/req")
				if s.pg != 0 {
					b.ReportMetric(f[k].perReq(f[k].cpu.pg), s.name+"-"+ph.name+"-postgres-cpu-us/req")
				}
				if s.haproxy != nil {
					b.ReportMetric(f[k].perReq(f[k].cpu.haproxy), s.name+"-"+ph.name+"-haproxy-cpu-us/req")
				}
			}
			// One PostgreSQL server's CPU per request over the CSV server's.
			b.ReportMetric(f[1].perReq(f[1].cpu.servers)/f[0].perReq(f[0].cpu.servers), "x-csv-server-cpu-"+ph.name)
			b.ReportMetric(f[1].rate()/f[0].rate(), "x-csv-rate-"+ph.name)
			b.ReportMetric(f[2].rate()/f[1].rate(), "x-pg1-rate-pg2-"+ph.name)
			projection(b, ph.name, f[2])
		}

		// Flat from 100 to 100,000 registered users: pg1 on a database
		// seeded with 100,000 users against the 100 of the setup above.
		dsnBig := pg.CreateDatabase(b)
		sBig, aBig := startBenchServer(b, "-db", dsnBig)
		big := &setup{name: "pg1-100k", addr: aBig, servers: []*testenv.Proc{sBig}, pg: pg.PID()}
		seed(b, aBig, 100000, 100, 20)
		flat := measure(b, []*setup{setups[1], big})
		for _, ph := range scalePhases {
			f := flat[ph.name]
			b.ReportMetric(f[1].rate()/f[0].rate(), "x-100-"+ph.name)
			b.ReportMetric(f[1].perReq(f[1].cpu.servers+f[1].cpu.pg)/f[0].perReq(f[0].cpu.servers+f[0].cpu.pg), "x-100-"+ph.name+"-cpu")
		}
	}
}

// projection reports, from one phase's CPU figures, the rate one
// frontend core sustains (its server's CPU per request), the rate one
// PostgreSQL core sustains, and N*, the number of frontends (each on a
// core of its own, HAProxy and PostgreSQL on cores of their own) at which
// one PostgreSQL core becomes the limit. Throughput with N frontends is
// then about min(N × frontend rate, PostgreSQL cores × PostgreSQL rate).
// It is a CPU model: it ignores the commit latency that bounds a phase
// (fsync), which is shared by all frontends' commits (group commit).
func projection(b *testing.B, phase string, pg2 figures) {
	server := pg2.perReq(pg2.cpu.servers) // the two servers' CPU per request
	pgCPU := pg2.perReq(pg2.cpu.pg)
	hap := pg2.perReq(pg2.cpu.haproxy)
	if server <= 0 || pgCPU <= 0 {
		return
	}
	b.ReportMetric(1e6/server, "model-"+phase+"-frontend-core-req/s")
	b.ReportMetric(1e6/pgCPU, "model-"+phase+"-postgres-core-req/s")
	if hap > 0 {
		b.ReportMetric(1e6/hap, "model-"+phase+"-haproxy-core-req/s")
	}
	b.ReportMetric(server/pgCPU, "model-"+phase+"-frontends-per-postgres-core")
}
