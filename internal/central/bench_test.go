package central

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"p2p/internal/loadgen"
	"p2p/internal/wire"
)

// The benchmarks run each server in its own process (the test binary in
// child mode) and load it from this one with internal/loadgen, one
// connection per request, 16 clients at once. Each reports its rate beside
// a baseline measured in the same run, as a ratio, and the server's CPU
// time per request.
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/central
const benchClients = 16

// benchRequests is the size of one measured load: about 2 s at the null
// server's rate on 2 cores.
const benchRequests = 20000

// seedDir writes a data folder with users registered users ("user<i>"),
// the first connected of them connected, each with files published files.
func seedDir(b *testing.B, users, connected, files int) string {
	dir := b.TempDir()
	var u, c strings.Builder
	for i := range users {
		u.WriteString(loadgen.UserName(i) + "\n")
	}
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	for i := range connected {
		c.WriteString(loadgen.UserName(i) + ";127.0.0.1;40000\n")
		var f strings.Builder
		for k := range files {
			fmt.Fprintf(&f, "file%d.txt;description of file %d\n", k, k)
		}
		os.WriteFile(filepath.Join(dir, "files", loadgen.UserName(i)+".csv"), []byte(f.String()), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte(u.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "connected.csv"), []byte(c.String()), 0o644)
	return dir
}

func mustReq(r wire.Request) []byte {
	r.DateTime = testDateTime
	b, err := wire.AppendRequest(nil, r)
	if err != nil {
		panic(err)
	}
	return b
}

// pair measures base then subject, twice, interleaved so that drift of the
// shared machine hits both alike, and reports the summed figures.
func pair(b *testing.B, base, subject *child, baseName, subjectName string, request func(round, i int) []byte) {
	var rate [2]float64
	var cpu [2]time.Duration
	var reqs [2]int
	var elapsed [2]time.Duration
	for round := range 2 {
		for k, c := range []*child{base, subject} {
			r, perReq := c.measure(b, benchClients, benchRequests, func(i int) []byte { return request(round, i) })
			if k == 1 && r.OK != r.Requests {
				b.Fatalf("%s: %d of %d requests answered '0'", subjectName, r.OK, r.Requests)
			}
			reqs[k] += r.Requests
			elapsed[k] += r.Elapsed
			cpu[k] += perReq / 2
		}
	}
	for k := range 2 {
		rate[k] = float64(reqs[k]) / elapsed[k].Seconds()
	}
	b.ReportMetric(rate[0], baseName+"-req/s")
	b.ReportMetric(rate[1], subjectName+"-req/s")
	b.ReportMetric(float64(cpu[0].Microseconds()), baseName+"-cpu-us/req")
	b.ReportMetric(float64(cpu[1].Microseconds()), subjectName+"-cpu-us/req")
	b.ReportMetric(rate[1]/rate[0], "x-"+baseName)
}

// BenchmarkListUsers: LIST_USERS with 100 connected users at 16 clients,
// against the sized null server (same reply bytes). Target: x-sized-null ≥ 0.85.
func BenchmarkListUsers(b *testing.B) {
	dir := seedDir(b, 100, 100, 0)
	sized := startChild(b, "sized")
	srv := startChild(b, "central", "P2P_BENCH_DIR="+dir, "P2P_BENCH_SYNC=1")
	request := mustReq(wire.Request{Op: wire.ListUsers, Username: loadgen.UserName(7)})
	for b.Loop() {
		pair(b, sized, srv, "sized-null", "central", func(int, int) []byte { return request })
	}
}

// BenchmarkRegister: REGISTER of new names at 16 clients with syncing on,
// against the null server. Target: x-null ≥ 0.6.
func BenchmarkRegister(b *testing.B) {
	null := startChild(b, "null")
	srv := startChild(b, "central", "P2P_BENCH_DIR="+b.TempDir(), "P2P_BENCH_SYNC=1")
	iter := 0
	for b.Loop() {
		iter++
		pair(b, null, srv, "null", "central", func(round, i int) []byte {
			return mustReq(wire.Request{Op: wire.Register, Username: fmt.Sprintf("reg%d-%d-%d", iter, round, i)})
		})
	}
}

// BenchmarkScale: REGISTER, CONNECT and PUBLISH throughput (16 clients,
// syncing on) and LIST_CONTENT latency (one client) with 100,000
// registered users, against the same with 100. Targets: x-100-register,
// x-100-connect, x-100-publish ≥ 0.8; x-100-list-content-latency about 1
// (it must not grow with the number of users). Both servers run side by
// side and each phase is measured on one then the other, in alternating
// order over two rounds, so that the shared machine's drift hits both
// alike. CPU per request (…-cpu-us/req) is the steadier witness: it shows
// no request doing work in proportion to the number of users.
func BenchmarkScale(b *testing.B) {
	const perPhase = 4000 // new users per phase and round
	sizes := []int{100, 100000}
	for b.Loop() {
		var srv [2]*child
		for k, size := range sizes {
			srv[k] = startChild(b, "central", "P2P_BENCH_DIR="+seedDir(b, size, 1, 20), "P2P_BENCH_SYNC=1")
		}
		var reqs [2][3]int
		var elapsed [2][3]time.Duration
		var cpu [2][3]time.Duration
		var lat [2]time.Duration
		name := func(round, i int) string { return fmt.Sprintf("new user %d-%d", round, i) }
		phases := []func(round, i int) []byte{
			func(round, i int) []byte { return mustReq(wire.Request{Op: wire.Register, Username: name(round, i)}) },
			func(round, i int) []byte {
				return mustReq(wire.Request{Op: wire.Connect, Username: name(round, i), Port: "40000"})
			},
			func(round, i int) []byte {
				return mustReq(wire.Request{Op: wire.Publish, Username: name(round, i), Filename: "song.mp3", Description: "a song"})
			},
		}
		list := mustReq(wire.Request{Op: wire.ListContent, Username: loadgen.UserName(0), Remote: loadgen.UserName(0)})
		for k := range srv { // warm up: page cache, first syncs
			srv[k].measure(b, benchClients, 500, func(i int) []byte { return phases[0](-1, i) })
		}
		for round := range 2 {
			order := []int{0, 1}
			if round == 1 {
				order = []int{1, 0}
			}
			for ph, request := range phases {
				for _, k := range order {
					r, perReq := srv[k].measure(b, benchClients, perPhase, func(i int) []byte { return request(round, i) })
					if r.OK != r.Requests {
						b.Fatalf("size %d phase %d: %d of %d answered '0'", sizes[k], ph, r.OK, r.Requests)
					}
					reqs[k][ph] += r.Requests
					elapsed[k][ph] += r.Elapsed
					cpu[k][ph] += perReq / 2
				}
			}
			for _, k := range order {
				r, _ := srv[k].measure(b, 1, 1500, func(int) []byte { return list })
				lat[k] += r.Latency / 2
			}
		}
		for k := range srv {
			srv[k].stop()
		}
		for ph, op := range []string{"register", "connect", "publish"} {
			r100 := float64(reqs[0][ph]) / elapsed[0][ph].Seconds()
			r100k := float64(reqs[1][ph]) / elapsed[1][ph].Seconds()
			b.ReportMetric(r100, op+"-100-req/s")
			b.ReportMetric(r100k, op+"-100k-req/s")
			b.ReportMetric(float64(cpu[0][ph].Microseconds()), op+"-100-cpu-us/req")
			b.ReportMetric(float64(cpu[1][ph].Microseconds()), op+"-100k-cpu-us/req")
			b.ReportMetric(r100k/r100, "x-100-"+op)
			b.ReportMetric(float64(cpu[1][ph])/float64(cpu[0][ph]), "x-100-"+op+"-cpu")
		}
		b.ReportMetric(float64(lat[0].Microseconds()), "list-content-100-us")
		b.ReportMetric(float64(lat[1].Microseconds()), "list-content-100k-us")
		b.ReportMetric(float64(lat[1])/float64(lat[0]), "x-100-list-content-latency")
	}
}
