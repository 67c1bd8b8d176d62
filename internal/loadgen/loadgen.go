// Package loadgen loads a central server the way real clients do (one TCP
// connection per request: connect, send, read the reply to the end, close)
// and provides the baselines benchmarks compare against: a null server that
// answers '0' to any request it can read, and a sized null server whose
// LIST_USERS answer carries prepared records, so that a real server's
// figures can be given as ratios measured in the same run.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"p2p/internal/wire"
)

// Result is what a run measured.
type Result struct {
	Requests int           // replies read whole
	OK       int           // of which started with status '0'
	Errors   int           // connections that failed (dial, write, read)
	Elapsed  time.Duration // wall time of the run
	Latency  time.Duration // mean time from dial to the end of the reply
	FirstErr error
}

// Rate is requests answered per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// String summarises the run: counts, time, rate and mean latency.
func (r Result) String() string {
	return fmt.Sprintf("%d requests (%d ok, %d errors) in %v: %.0f/s, mean latency %v",
		r.Requests, r.OK, r.Errors, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Latency)
}

// Run sends n requests to addr from clients goroutines at once, one
// connection per request; request(i) gives the bytes of the i-th request
// (0 ≤ i < n), each sent once. Each reply is read until the server closes.
func Run(addr string, clients, n int, request func(i int) []byte) Result {
	var next atomic.Int64
	var mu sync.Mutex
	var res Result
	var latency time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			var r Result
			var lat time.Duration
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				t0 := time.Now()
				status, err := exchange(addr, request(i), buf)
				lat += time.Since(t0)
				switch {
				case err != nil:
					r.Errors++
					if r.FirstErr == nil {
						r.FirstErr = err
					}
				default:
					r.Requests++
					if status == wire.StatusOK.Byte() {
						r.OK++
					}
				}
			}
			mu.Lock()
			res.Requests += r.Requests
			res.OK += r.OK
			res.Errors += r.Errors
			if res.FirstErr == nil {
				res.FirstErr = r.FirstErr
			}
			latency += lat
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if total := res.Requests + res.Errors; total > 0 {
		res.Latency = latency / time.Duration(total)
	}
	return res
}

// client makes the exchanges of Run: one connection per request.
var client = wire.Client{Timeout: 30 * time.Second}

// exchange makes one request on a new connection and returns the reply's
// first byte once the whole reply is read.
func exchange(addr string, req, buf []byte) (byte, error) {
	var first byte
	total := 0
	err := client.Send(context.Background(), addr, req, func(r io.Reader) error {
		for {
			n, err := r.Read(buf)
			if n > 0 && total == 0 {
				first = buf[0]
			}
			total += n
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if total == 0 {
		return 0, wire.ErrNoReply
	}
	return first, nil
}

// ProcessCPU returns the user+system CPU time a process has used so far,
// from /proc/<pid>/stat (Linux).
func ProcessCPU(pid int) (time.Duration, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat: %v", f)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// TreeCPU returns the CPU time of the process pid and of every live
// process descended from it, plus what its reaped children used: the cost
// of a server made of several processes (PostgreSQL's postmaster and its
// backends).
func TreeCPU(pid int) (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	parent := make(map[int]int)
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := statFields(p); err == nil {
			pp, _ := strconv.Atoi(f[1])
			parent[p] = pp
		}
	}
	in := func(p int) bool {
		for ; p > 1; p = parent[p] {
			if p == pid {
				return true
			}
		}
		return false
	}
	var total time.Duration
	for p := range parent {
		if !in(p) {
			continue
		}
		f, err := statFields(p)
		if err != nil {
			continue // gone meanwhile
		}
		fields := []int{11, 12} // utime, stime
		if p == pid {
			fields = append(fields, 13, 14) // cutime, cstime: reaped children
		}
		for _, i := range fields {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			total += time.Duration(n) * time.Second / 100
		}
	}
	return total, nil
}

// statFields returns the fields of /proc/<pid>/stat after the command
// name: f[0] is the state, f[1] the parent's pid, f[11] utime.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("unexpected /proc stat: %q", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("unexpected /proc stat: %q", s)
	}
	return f, nil
}
