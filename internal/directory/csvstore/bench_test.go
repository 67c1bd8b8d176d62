package csvstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"p2p/internal/central"
	"p2p/internal/directory"
	"p2p/internal/loadgen"
	"p2p/internal/logging"
	"p2p/internal/wire"
)

// The SEARCH benchmarks load the CSV store with a directory written
// straight to its files (building a million files through the network
// would take longer than the measure) and serve it with a central server
// in a process of its own, loaded over TCP from this one, one connection
// per request, as the central benchmarks do. Each figure is given beside a baseline measured
// in the same run, as a ratio (x-…); the two sides are measured
// alternately, so that the shared machine's drift hits both alike.
//
//	go test -run '^$' -bench Search -benchtime 1x ./internal/directory/csvstore
//
// Targets: x-list-content ≥ 0.8 (SEARCH throughput at 16 clients against
// LIST_CONTENT of a 50-file list; x-list-content-same-bytes against a list
// whose reply is as many bytes as the SEARCH's, 75 files;
// x-list-content-varied against LIST_CONTENT of a different 50-file list
// each time, as each SEARCH reads different files: the one list of the
// first two stays in the CPU's caches, the files of 20,000 lists do not), x-10k-p99 ≤ 1.5 (SEARCH p99 at 1,000,000
// files against 10,000), x-no-index-publish ≥ 0.9 (PUBLISH throughput with
// the index against without), and the index's memory under the data's
// (x-data-memory < 1).

const (
	benchClients = 16
	filesPerUser = 50
)

// benchTags is how many tag words a directory of files files has: each tag
// is held by 50 files, of 50 owners, whatever the size.
func benchTags(files int) int { return files / 50 }

// benchFile is the k-th file of user u in a directory of users users:
// eight words, from one shared by every file (mp3, track, live) through
// one shared by 500 (the band) down to the tag, held by 50 files.
func benchFile(u, k, users int) (name, desc string) {
	g := u*filesPerUser + k
	tags := benchTags(users * filesPerUser)
	name = fmt.Sprintf("Band%d t%d - Track %02d.mp3", u/10, g%tags, k)
	desc = fmt.Sprintf("%s live %d", genres[g%len(genres)], 1990+g%30)
	return name, desc
}

var genres = []string{"rock", "pop", "jazz", "blues", "folk", "metal", "punk", "soul", "funk", "disco", "house", "techno", "ambient", "reggae", "ska", "latin"}

// writeBenchDir writes a data folder: users registered and connected
// users, each publishing filesPerUser files.
func writeBenchDir(b *testing.B, users int) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, FilesDir), 0o755); err != nil {
		b.Fatal(err)
	}
	var us, cs []byte
	for u := range users {
		name := loadgen.UserName(u)
		us = appendRecord(us, name)
		cs = appendRecord(cs, name, "127.0.0.1", "40000")
		var fs []byte
		for k := range filesPerUser {
			f, d := benchFile(u, k, users)
			fs = appendRecord(fs, f, d)
		}
		if err := os.WriteFile(filepath.Join(dir, FilesDir, name+listSuffix), fs, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// sizeRef publishes sizeRefFiles files: its LIST_CONTENT reply is as
	// many bytes as a SEARCH of 50 matches (records of two fields against
	// three), the baseline of the same size.
	us = appendRecord(us, sizeRef)
	cs = appendRecord(cs, sizeRef, "127.0.0.1", "40000")
	var fs []byte
	for k := range sizeRefFiles {
		fs = appendRecord(fs, fmt.Sprintf("sizeref%02d.bin", k), "same bytes as a search")
	}
	if err := os.WriteFile(filepath.Join(dir, FilesDir, sizeRef+listSuffix), fs, 0o644); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, UsersFile), us, 0o644)
	os.WriteFile(filepath.Join(dir, ConnectedFile), cs, 0o644)
	return dir
}

// The user whose list is the same size as a 50-match SEARCH reply.
const (
	sizeRef      = "sizeref"
	sizeRefFiles = 50 * wire.SearchRecordSize / wire.FileRecordSize
)

// copyDir copies a data folder (flat files and files/).
func copyDir(b *testing.B, src string) string {
	b.Helper()
	dst := b.TempDir()
	for _, sub := range []string{"", FilesDir} {
		os.MkdirAll(filepath.Join(dst, sub), 0o755)
		entries, _ := os.ReadDir(filepath.Join(src, sub))
		for _, e := range entries {
			if e.Type().IsRegular() {
				data, err := os.ReadFile(filepath.Join(src, sub, e.Name()))
				if err == nil {
					err = os.WriteFile(filepath.Join(dst, sub, e.Name()), data, 0o644)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return dst
}

// benchChildEnv makes the test binary serve a data folder instead of
// running the tests: "<dir>" with the index, "noindex:<dir>" without. The
// servers run in processes of their own, as in the central benchmarks, so
// that neither the load generator nor the other server (nor their
// collectors, over heaps of hundreds of megabytes) runs in a measured
// server's process.
const benchChildEnv = "P2P_CSVSTORE_BENCH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(benchChildEnv); spec != "" {
		os.Exit(serveChild(spec))
	}
	os.Exit(m.Run())
}

// serveChild opens the store (syncing, as the server does by default),
// serves it on 127.0.0.1:0, prints the address and stops when stdin
// closes.
func serveChild(spec string) int {
	dir, noIndex := strings.CutPrefix(spec, "noindex:")
	st, err := Open(Options{Dir: dir, Sync: true, Log: logging.New(os.Stderr, ""), noIndex: noIndex})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := central.Start(central.Config{Addr: "127.0.0.1:0", Directory: directory.New(st, directory.Options{Log: logging.New(os.Stderr, "")}), Console: io.Discard, Log: logging.New(os.Stderr, "")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(srv.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
	st.Close()
	return 0
}

// benchServer is a server started by startBench.
type benchServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

func startBench(b *testing.B, dir string, noIndex bool) *benchServer {
	b.Helper()
	spec := dir
	if noIndex {
		spec = "noindex:" + dir
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+spec)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	s := &benchServer{cmd: cmd, stdin: stdin, addr: strings.TrimSpace(line)}
	if s.addr == "" {
		cmd.Process.Kill()
		cmd.Wait()
		b.Fatal("the server did not start")
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return s
}

func mustReq(r wire.Request) []byte {
	r.DateTime = "30/11/2026 17:20:00"
	b, err := wire.AppendRequest(nil, r)
	if err != nil {
		panic(err)
	}
	return b
}

// searchReq is a SEARCH by user u of a tag held by 50 files (whichever
// tag i picks), with two words every file holds.
func searchReq(users, u, i int) []byte {
	return mustReq(wire.Request{Op: wire.Search, Username: loadgen.UserName(u), Words: searchWords(users, i)})
}

// searchWords is the i-th query: a tag and two words every file holds.
func searchWords(users, i int) string {
	return fmt.Sprintf("MP3 t%d live", (i*7919)%benchTags(users*filesPerUser))
}

// run measures n requests at clients at once and fails unless every one
// was answered '0'.
func run(b *testing.B, addr string, clients, n int, request func(i int) []byte) loadgen.Result {
	b.Helper()
	r := loadgen.Run(addr, clients, n, request)
	if r.Errors > 0 || r.OK != n {
		b.Fatalf("%d of %d answered '0', %d errors (first: %v)", r.OK, n, r.Errors, r.FirstErr)
	}
	return r
}

// exchange makes one request and returns the time to its whole reply, and
// the number of records a SEARCH reply carried.
func exchange(b *testing.B, addr string, req []byte) (time.Duration, int) {
	t0 := time.Now()
	var recs []wire.SearchRecord
	c := wire.Client{ReadBuffer: 64 << 10}
	st, err := c.DoRaw(context.Background(), addr, req, func(r io.Reader) error {
		var err error
		recs, err = wire.ReadSearchList(r)
		return err
	})
	if err != nil || st != 0 {
		b.Fatalf("status %v, %v", st, err)
	}
	return time.Since(t0), len(recs)
}

func p99(lat []time.Duration) time.Duration {
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// BenchmarkSearch: at 1,000,000 published files (20,000 connected users ×
// 50), SEARCH of three words (the rarest held by 50 files) at 16 clients
// against LIST_CONTENT of a 50-file list on the same server; SEARCH p99
// (one client, requests alternating between the servers) against a
// directory of 10,000 files.
func BenchmarkSearch(b *testing.B) {
	const users = 20000
	big := startBench(b, writeBenchDir(b, users), false)
	small := startBench(b, writeBenchDir(b, 10000/filesPerUser), false)
	list := mustReq(wire.Request{Op: wire.ListContent, Username: loadgen.UserName(1), Remote: loadgen.UserName(2)})
	if _, n := exchange(b, big.addr, searchReq(users, 3, 1)); n != 50 {
		b.Fatalf("the query matches %d files, want 50", n)
	}
	sameSize := mustReq(wire.Request{Op: wire.ListContent, Username: loadgen.UserName(1), Remote: sizeRef})
	for b.Loop() {
		// Blocks of 2,000 requests, alternating, so that drift of the
		// shared machine hits the three alike.
		const perRound, block = 20000, 2000
		var rate [4]float64 // list-content (one 50-file list), (same bytes), (a different 50-file list each time), search
		var took [4]time.Duration
		for round := range 2 {
			for start := 0; start < perRound; start += block {
				for k, req := range []func(i int) []byte{
					func(int) []byte { return list },
					func(int) []byte { return sameSize },
					func(i int) []byte {
						g := round*perRound + start + i
						return mustReq(wire.Request{Op: wire.ListContent, Username: loadgen.UserName(g % users), Remote: loadgen.UserName((g * 7919) % users)})
					},
					func(i int) []byte { return searchReq(users, i%users, round*perRound+start+i) },
				} {
					r := run(b, big.addr, benchClients, block, req)
					took[k] += r.Elapsed
				}
			}
		}
		for k := range rate {
			rate[k] = 2 * perRound / took[k].Seconds()
		}
		b.ReportMetric(rate[0], "list-content-req/s")
		b.ReportMetric(rate[1], "list-content-same-bytes-req/s")
		b.ReportMetric(rate[2], "list-content-varied-req/s")
		b.ReportMetric(rate[3], "search-req/s")
		b.ReportMetric(rate[3]/rate[0], "x-list-content")
		b.ReportMetric(rate[3]/rate[1], "x-list-content-same-bytes")
		b.ReportMetric(rate[3]/rate[2], "x-list-content-varied")

		const probes = 5000
		var lat [2][]time.Duration // 10k, 1M
		for i := range probes {
			for k, s := range []*benchServer{small, big} {
				u := []int{10000 / filesPerUser, users}[k]
				d, n := exchange(b, s.addr, searchReq(u, i%u, i))
				if n != 50 {
					b.Fatalf("%d files matched, want 50", n)
				}
				lat[k] = append(lat[k], d)
			}
		}
		p10k, p1m := p99(lat[0]), p99(lat[1])
		b.ReportMetric(float64(p10k.Microseconds()), "search-10k-p99-us")
		b.ReportMetric(float64(p1m.Microseconds()), "search-1M-p99-us")
		b.ReportMetric(float64(p1m)/float64(p10k), "x-10k-p99")
	}
}

// BenchmarkSearchPublish: PUBLISH throughput at 16 clients (syncing on,
// as the server runs by default) into a directory of 1,000,000 files,
// with the index against without it. Each file is new and holds words
// most files hold (mp3, track, live), for owners connected long before
// the newest: inserts in the middle of the longest postings.
func BenchmarkSearchPublish(b *testing.B) {
	const users = 20000
	dir := writeBenchDir(b, users)
	with := startBench(b, dir, false)
	without := startBench(b, copyDir(b, dir), true)
	iter := 0
	for b.Loop() {
		iter++
		const perRound = 8000
		var took [2]time.Duration // without, with
		for round := range 2 {
			for k, s := range []*benchServer{without, with} {
				r := run(b, s.addr, benchClients, perRound, func(i int) []byte {
					u := (i * 7) % users
					name := fmt.Sprintf("Band%d new%d-%d-%d - Track %02d.mp3", u/10, iter, round, i, i%50)
					return mustReq(wire.Request{Op: wire.Publish, Username: loadgen.UserName(u), Filename: name, Description: "rock live 2001"})
				})
				took[k] += r.Elapsed
			}
		}
		r0 := 2 * perRound / took[0].Seconds()
		r1 := 2 * perRound / took[1].Seconds()
		b.ReportMetric(r0, "no-index-publish-req/s")
		b.ReportMetric(r1, "index-publish-req/s")
		b.ReportMetric(r1/r0, "x-no-index-publish")
	}
}

// BenchmarkSearchStartup: the store's start-up time (Open: load and, with
// the index, its build) and the memory it holds at 1,000,000 files, with
// the index and without. x-data-memory is the index's memory (with less
// without) over the memory of the data it indexes (without).
func BenchmarkSearchStartup(b *testing.B) {
	dir := writeBenchDir(b, 20000)
	for b.Loop() {
		var took [2]time.Duration // without, with
		var mem [2]uint64
		for round := range 2 {
			for k, noIndex := range []bool{true, false} {
				heap0 := heapInUse()
				t0 := time.Now()
				st, err := Open(Options{Dir: dir, Log: logging.New(os.Stderr, ""), noIndex: noIndex})
				d := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				m := heapInUse() - heap0
				runtime.KeepAlive(st)
				st.Close()
				if round == 0 || d < took[k] {
					took[k] = d
				}
				mem[k] = m
			}
		}
		b.ReportMetric(took[0].Seconds()*1000, "no-index-startup-ms")
		b.ReportMetric(took[1].Seconds()*1000, "index-startup-ms")
		b.ReportMetric(float64(took[1])/float64(took[0]), "x-no-index-startup")
		b.ReportMetric(float64(mem[0])/(1<<20), "no-index-MiB")
		b.ReportMetric(float64(mem[1])/(1<<20), "index-MiB")
		b.ReportMetric(float64(mem[1]-mem[0])/float64(mem[0]), "x-data-memory")
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
