package rpclog_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"p2p/internal/loadgen"
	"p2p/internal/logging"
	"p2p/internal/oncrpc"
	"p2p/internal/rpclog"
	"p2p/internal/wire"
)

// callers holds persistent connections to one server.
type callers struct {
	clients []*oncrpc.Client
	args    []byte
}

func newCallers(b *testing.B, addr string, conns int) *callers {
	b.Helper()
	args, err := rpclog.AppendEntry(nil, rpclog.Entry{Username: "alice", Operation: "PUBLISH", Filename: "song.mp3", DateTime: "30/11/2026 17:20:00"})
	if err != nil {
		b.Fatal(err)
	}
	cs := &callers{args: args, clients: make([]*oncrpc.Client, conns)}
	for i := range cs.clients {
		if cs.clients[i], err = oncrpc.Dial(addr, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		c := cs.clients[i]
		b.Cleanup(func() { c.Close() })
	}
	return cs
}

// run makes n LOG_OPERATION calls spread over the connections, each
// connection calling in a loop, and returns the time taken. With batch > 1
// each connection pipelines its calls batch at a time (one write of batch
// calls, then their replies), as the central server's Sender does;
// otherwise it waits for each reply before the next call, as an rpcgen
// client's clnt_call does.
func (cs *callers) run(b *testing.B, n, batch int) time.Duration {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(cs.clients))
	many := make([][]byte, max(batch, 1))
	for i := range many {
		many[i] = cs.args
	}
	start := time.Now()
	for i, c := range cs.clients {
		share := n / len(cs.clients)
		if i < n%len(cs.clients) {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for share > 0 {
				k := min(share, len(many))
				// One call (sync) or a batch: the same write-then-read path.
				if ok, err := c.CallMany(time.Now().Add(30*time.Second), rpclog.Program, rpclog.Version, rpclog.ProcLogOp, many[:k]); err != nil || ok != k {
					errs <- fmt.Errorf("%d of %d calls answered: %v", ok, k, err)
					return
				}
				share -= k
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return elapsed
}

// BenchmarkLogOperationVsC measures LOG_OPERATION calls per second against
// our rpc_server and against the rpcgen/libtirpc C server built from the
// same .x, side by side in the same run, with the same Go client, both
// servers printing to /dev/null. The calls go in alternating rounds (eight,
// the order swapped each round) so that a burst of load on the machine hits both.
// go/c is the ratio of rates (target >= 1.0). b.N calls go to each server.
//
// The sync cases wait for each reply before the next call (an rpcgen
// client's pattern); the pipelined ones send batches of
// rpclog.MaxBatch calls per write, which is how the central server's Sender,
// the log server's client in this system, sends under load.
func BenchmarkLogOperationVsC(b *testing.B) {
	gsrv := startProc(b, goServerPort, silenced(b, goServer(b)))
	csrv := startProc(b, cServerPort, silenced(b, cServer(b)))
	for _, tc := range []struct {
		name         string
		conns, batch int
	}{
		{"sync/conns=1", 1, 1},
		{"sync/conns=16", 16, 1},
		{"pipelined/conns=1", 1, rpclog.MaxBatch},
		{"pipelined/conns=16", 16, rpclog.MaxBatch},
	} {
		b.Run(tc.name, func(b *testing.B) {
			conns := tc.conns
			g, c := newCallers(b, gsrv.addr(), conns), newCallers(b, csrv.addr(), conns)
			const rounds = 8
			per := max(b.N/rounds, conns)
			g.run(b, conns, tc.batch) // warm up: connections established, buffers grown
			c.run(b, conns, tc.batch)
			b.ResetTimer()
			var gt, ct, gcpu, ccpu time.Duration
			measure := func(cs *callers, p *proc, wall, used *time.Duration) {
				t0 := cpu(b, p)
				*wall += cs.run(b, per, tc.batch)
				*used += cpu(b, p) - t0
			}
			for r := 0; r < rounds; r++ {
				if r%2 == 0 { // swap the order every round
					measure(g, gsrv, &gt, &gcpu)
					measure(c, csrv, &ct, &ccpu)
				} else {
					measure(c, csrv, &ct, &ccpu)
					measure(g, gsrv, &gt, &gcpu)
				}
			}
			total := float64(per * rounds)
			b.ReportMetric(total/gt.Seconds(), "go_calls/s")
			b.ReportMetric(total/ct.Seconds(), "c_calls/s")
			b.ReportMetric(ct.Seconds()/gt.Seconds(), "go/c")
			// Server CPU per call (user+system, from /proc): less
			// sensitive than rates to other load on the machine.
			b.ReportMetric(float64(gcpu.Microseconds())/total, "go_cpu_us/call")
			b.ReportMetric(float64(ccpu.Microseconds())/total, "c_cpu_us/call")
		})
	}
}

// cpu returns the CPU time a server process has used so far.
func cpu(b *testing.B, p *proc) time.Duration {
	d, err := loadgen.ProcessCPU(p.Pid())
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkCentralLogging measures the central server's throughput with
// logging on (a Sender to our rpc_server, stdout to /dev/null) against the
// same server with logging off, side by side in one run, in alternating
// rounds. Requests are LIST_USERS from a connected user, from 8 clients,
// one connection per request as real clients do; on/off is the ratio of
// rates (target >= 0.9). b.N requests go to each server.
func BenchmarkCentralLogging(b *testing.B) {
	lsrv := startProc(b, goServerPort, silenced(b, goServer(b)))
	s := rpclog.NewSender(rpclog.SenderConfig{Host: "127.0.0.1", Port: lsrv.port, Log: logging.New(os.Stderr, "")})
	defer s.Close()
	on, off := startCentral(b, s), startCentral(b, nil)
	req, err := wire.AppendRequest(nil, wire.Request{Op: wire.ListUsers, DateTime: "30/11/2026 17:20:00", Username: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for _, addr := range []string{on, off} {
		do(b, addr, wire.Request{Op: wire.Register, DateTime: "d", Username: "bench"})
		do(b, addr, wire.Request{Op: wire.Connect, DateTime: "d", Username: "bench", Port: "4000"})
	}
	const clients, rounds = 8, 6
	per := max(b.N/rounds, clients)
	run := func(addr string) time.Duration {
		r := loadgen.Run(addr, clients, per, func(int) []byte { return req })
		if r.Errors > 0 || r.OK != per {
			b.Fatalf("%s: %v (first error %v)", addr, r, r.FirstErr)
		}
		return r.Elapsed
	}
	run(on)
	run(off)
	b.ResetTimer()
	var ton, toff time.Duration
	for r := 0; r < rounds; r++ {
		if r%2 == 0 { // swap the order every round
			ton += run(on)
			toff += run(off)
		} else {
			toff += run(off)
			ton += run(on)
		}
	}
	total := float64(per * rounds)
	b.ReportMetric(total/ton.Seconds(), "on_req/s")
	b.ReportMetric(total/toff.Seconds(), "off_req/s")
	b.ReportMetric(toff.Seconds()/ton.Seconds(), "on/off")
}
