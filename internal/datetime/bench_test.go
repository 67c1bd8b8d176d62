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
// Two kinds of client: "generated" is Client.Now (the gowsdl code, what
// the peer runs); "raw" POSTs zeep's envelope with net/http and reads the
// answer, which makes the server's share of the cost larger.
//
// Metrics: <target>-calls/s, x-bare = ours/bare (target >= 0.7) and
// x-spyne = ours/spyne.
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
		{"raw", func(url string) func() error {
			return func() error { return rawCall(raw, url) }
		}},
	}
	for _, cl := range clients {
		b.Run("client="+cl.name, func(b *testing.B) {
			callOurs, callBare := cl.call(ours), cl.call(bare)
			// Warm the connections, then alternate halves so drift in the
			// machine's load hits both alike.
			run(b, callOurs, benchConcurrency)
			run(b, callBare, benchConcurrency)
			b.ResetTimer()
			var tOurs, tBare time.Duration
			half := (b.N + 1) / 2
			for i := 0; i < 2; i++ {
				tOurs += run(b, callOurs, half)
				tBare += run(b, callBare, half)
			}
			b.StopTimer()
			rOurs := float64(2*half) / tOurs.Seconds()
			rBare := float64(2*half) / tBare.Seconds()
			b.ReportMetric(rOurs, "ours-calls/s")
			b.ReportMetric(rBare, "bare-calls/s")
			b.ReportMetric(rOurs/rBare, "x-bare")
			if spyne != "" {
				callSpyne := cl.call(spyne)
				n := min(b.N, spyneCalls)
				rSpyne := float64(n) / run(b, callSpyne, n).Seconds()
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

// run makes n calls from benchConcurrency goroutines and returns the time
// they took; any failed call fails the benchmark.
func run(b *testing.B, call func() error, n int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	start := time.Now()
	for g := 0; g < benchConcurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := call(); err != nil {
					once.Do(func() { b.Error(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// rawCall POSTs zeep's envelope and reads the whole answer.
func rawCall(c *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(zeepEnvelope))
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
