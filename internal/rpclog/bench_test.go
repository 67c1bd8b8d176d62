package rpclog_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"p2p/internal/oncrpc"
	"p2p/internal/rpclog"
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
// connection calling in a loop, and returns the time taken.
func (cs *callers) run(b *testing.B, n int) time.Duration {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(cs.clients))
	start := time.Now()
	for i, c := range cs.clients {
		share := n / len(cs.clients)
		if i < n%len(cs.clients) {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < share; j++ {
				if _, err := c.Call(time.Now().Add(30*time.Second), rpclog.Program, rpclog.Version, rpclog.ProcLogOp, cs.args); err != nil {
					errs <- err
					return
				}
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
// servers printing to /dev/null. The calls go in alternating rounds (ours,
// then C's, eight times) so that a burst of load on the machine hits both.
// go/c is the ratio of rates (target >= 1.0). b.N calls go to each server.
func BenchmarkLogOperationVsC(b *testing.B) {
	if v := os.Getenv("XGMP"); v != "" {
		os.Setenv("GOMAXPROCS", v)
	}
	gsrv := startGoServer(b, "")
	os.Unsetenv("GOMAXPROCS")
	csrv := startCServer(b, "")
	for _, conns := range []int{1, 16} {
		b.Run("conns="+itoa(conns), func(b *testing.B) {
			g, c := newCallers(b, gsrv.addr(), conns), newCallers(b, csrv.addr(), conns)
			const rounds = 8
			per := max(b.N/rounds, conns)
			g.run(b, conns) // warm up: connections established, buffers grown
			c.run(b, conns)
			b.ResetTimer()
			var gt, ct time.Duration
			for r := 0; r < rounds; r++ {
				gt += g.run(b, per)
				ct += c.run(b, per)
			}
			total := float64(per * rounds)
			b.ReportMetric(total/gt.Seconds(), "go_calls/s")
			b.ReportMetric(total/ct.Seconds(), "c_calls/s")
			b.ReportMetric(ct.Seconds()/gt.Seconds(), "go/c")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
