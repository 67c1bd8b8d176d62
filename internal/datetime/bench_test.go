package datetime

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"p2p/internal/testenv"
)

// benchConcurrency is the number of keep-alive clients calling at once.
const benchConcurrency = 16

// benchSlices is how many times the benchmark alternates ours and bare.
const benchSlices = 10

// spyneCalls caps the calls made to the (much slower) spyne server per
// benchmark iteration batch, so a run stays within a few seconds.
const spyneCalls = 1000

// BenchmarkDatetime measures datetime calls per second from 16 concurrent
// keep-alive clients against, in the same run:
//
//   - ours:  NewServer(DefaultConfig()), the production handler and limits;
//   - bare:  a net/http server with the same limits whose handler writes a
//     constant datetime response (the ceiling for any Go handler);
//   - spyne: the original Python server (startSpyne), when available.
//
// Three kinds of client: "generated" is Client.Now (the gowsdl code, what
// the peer runs); "raw" POSTs zeep's envelope with net/http and reads the
// answer, which makes the server's share of the cost larger; "raw-parsed"
// sends an envelope the handler does not recognise byte for byte, so it
// pays for the full XML parse (the generated and zeep requests skip it).
//
// Metrics: <target>-calls/s, x-bare = ours/bare calls per second (target
// >= 0.7), x-bare-cpu = the same ratio from this process's CPU time per
// call (steadier when the machine is shared), x-spyne = ours/spyne.
func BenchmarkDatetime(b *testing.B) {
	ours := benchServer(b, NewServer(DefaultConfig()).Handler)
	constant := appendResponse(nil, Format(time.Now()))
	bare := benchServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(constant)
	}))
	spyne := ""
	if out, err := exec.Command(testenv.SystemPython, "-c", "import spyne, lxml").CombinedOutput(); err == nil {
		spyne = startSpyne(b)
	} else {
		b.Logf("\n*** spyne not available (%s): x-spyne not measured ***\n", strings.TrimSpace(string(out)))
	}
	raw := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency}}
	clients := []struct {
		name string
		call func(url string) func() error
	}{
		{"generated", func(url string) func() error {
			c := NewClient(url)
			return func() error {
				s, err := c.Now(context.Background())
				if err == nil && !Valid(s) {
					err = fmt.Errorf("answer %q", s)
				}
				return err
			}
		}},
		{"raw-zeep", func(url string) func() error {
			return func() error { return rawCall(raw, url, zeepWireEnvelope) }
		}},
	}
	for _, cl := range clients {
		b.Run("client="+cl.name, func(b *testing.B) {
			callOurs, callBare := cl.call(ours), cl.call(bare)
			// Warm the connections, then alternate in slices so drift in
			// the machine's load (it is shared) hits both alike.
			run(b, callOurs, benchConcurrency)
			run(b, callBare, benchConcurrency)
			b.ResetTimer()
			var tOurs, tBare, cOurs, cBare time.Duration
			slice := (b.N + benchSlices - 1) / benchSlices
			for i := 0; i < benchSlices; i++ {
				t, c := run(b, callOurs, slice)
				tOurs, cOurs = tOurs+t, cOurs+c
				t, c = run(b, callBare, slice)
				tBare, cBare = tBare+t, cBare+c
			}
			b.StopTimer()
			n := float64(benchSlices * slice)
			rOurs, rBare := n/tOurs.Seconds(), n/tBare.Seconds()
			b.ReportMetric(rOurs, "ours-calls/s")
			b.ReportMetric(rBare, "bare-calls/s")
			b.ReportMetric(rOurs/rBare, "x-bare")
			// Clients and both Go servers run in this process: its CPU time
			// per call is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cOurs.Microseconds())/n, "ours-cpu-µs/call")
			b.ReportMetric(float64(cBare.Microseconds())/n, "bare-cpu-µs/call")
			b.ReportMetric(cBare.Seconds()/cOurs.Seconds(), "x-bare-cpu")
			if spyne != "" {
				callSpyne := cl.call(spyne)
				n := min(b.N, spyneCalls)
				t, _ := run(b, callSpyne, n)
				rSpyne := float64(n) / t.Seconds()
				b.ReportMetric(rSpyne, "spyne-calls/s")
				b.ReportMetric(rOurs/rSpyne, "x-spyne")
			}
		})
	}
}

// benchServer serves h on 127.0.0.1 with the default limits until b ends.
func benchServer(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(DefaultConfig())
	srv.Handler = h
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// run makes n calls from benchConcurrency goroutines and returns the wall
// time and the process CPU time they took; any failed call fails the
// benchmark.
func run(b *testing.B, call func() error, n int) (wall, cpu time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	cpu0 := testenv.CPUTime()
	start := time.Now()
	for g := 0; g < benchConcurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := call(); err != nil {
					once.Do(func() { b.Errorf("after %d calls: %v", next.Load()-1, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), testenv.CPUTime() - cpu0
}

// rawCall POSTs envelope and reads the whole answer.
func rawCall(c *http.Client, url, envelope string) error {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(envelope))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"datetime"`)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "datetimeResult>") {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	return nil
}
