package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/logging"
	"p2p/internal/wire"
)

// fixture is a serving peer with its own folder and a downloader folder.
type fixture struct {
	srcDir, dstDir string
	files          *Catalog
	srv            *Server
}

func newFixture(t *testing.T, cfg ServerConfig) *fixture {
	t.Helper()
	f := &fixture{srcDir: t.TempDir(), dstDir: t.TempDir()}
	f.files = NewCatalog(f.srcDir)
	cfg.Log = logging.New(testLog{t}, "peer")
	srv, err := Listen("127.0.0.1:0", f.files, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	t.Cleanup(func() { srv.Close() })
	return f
}

// publish writes a file of n random bytes under name and publishes it.
func (f *fixture) publish(t *testing.T, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	p := filepath.Join(f.srcDir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.files.Add(wire.FileRecord{Filename: name, Description: "d"})
	return data
}

func (f *fixture) addr() string { return f.srv.Addr().String() }

// dstEntries lists what is in the downloader's folder.
func dstEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadSized20MB(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	want := f.publish(t, "big file.bin", 20<<20)
	local := filepath.Join(f.dstDir, "copy.bin")
	var last int64
	res, err := Download(context.Background(), f.addr(), "big file.bin", local, DownloadConfig{
		Progress: func(done, total int64) {
			if total != int64(len(want)) || done < last {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		},
	})
	if err != nil || res.Outcome != wire.OK || !res.Sized || res.Bytes != int64(len(want)) {
		t.Fatalf("download: %+v, %v", res, err)
	}
	got, _ := os.ReadFile(local)
	if !bytes.Equal(got, want) {
		t.Fatalf("file differs: %d bytes, want %d", len(got), len(want))
	}
	if last != int64(len(want)) {
		t.Errorf("last progress %d", last)
	}
	if names := dstEntries(t, f.dstDir); len(names) != 1 {
		t.Errorf("left behind: %v", names)
	}
}

// rawGet sends one request by hand and returns everything the peer sent.
func rawGet(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	return got
}

func TestPlainGetFileServed(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	want := f.publish(t, "song.mp3", 100_000)
	req, _ := wire.AppendPeerRequest(nil, wire.GetFile, "song.mp3")
	got := rawGet(t, f.addr(), req)
	if len(got) == 0 || got[0] != '0' || !bytes.Equal(got[1:], want) {
		t.Fatalf("plain GET_FILE reply: %d bytes, first %q", len(got), got[:min(1, len(got))])
	}
	req, _ = wire.AppendPeerRequest(nil, wire.GetFileSized, "song.mp3")
	got = rawGet(t, f.addr(), req)
	if len(got) != 9+len(want) || got[0] != '0' || !bytes.Equal(got[9:], want) {
		t.Fatalf("sized reply: %d bytes", len(got))
	}
	if n, _ := wire.ReadSize(bytes.NewReader(got[1:9])); n != uint64(len(want)) {
		t.Errorf("size field %d", n)
	}
}

func TestOnlyPublishedNamesServed(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	f.publish(t, "pub.txt", 10)
	// On disk but not published, and names reaching outside.
	os.WriteFile(filepath.Join(f.srcDir, "secret.txt"), []byte("s"), 0o644)
	f.files.Add(wire.FileRecord{Filename: "gone.txt"}) // published, not on disk
	for _, name := range []string{"secret.txt", "gone.txt", "../" + filepath.Base(f.srcDir) + "/secret.txt", filepath.Join(f.srcDir, "pub.txt"), "./pub.txt", "PUB.TXT", ""} {
		for _, op := range wire.PeerOps {
			req, _ := wire.AppendPeerRequest(nil, op, name)
			if got := rawGet(t, f.addr(), req); string(got) != "1" {
				t.Errorf("%s %q: reply %q, want \"1\"", op, name, got)
			}
		}
		local := filepath.Join(f.dstDir, "out")
		res, err := Download(context.Background(), f.addr(), name, local, DownloadConfig{})
		if res.Outcome != wire.FileNotFound || err == nil {
			t.Errorf("download %q: %+v %v", name, res, err)
		}
		if line := wire.Line(wire.GetFile, wire.StatusFor(wire.GetFile, res.Outcome)); line != "GET_FILE FAIL, FILE DOES NOT EXIST" {
			t.Errorf("line %q", line)
		}
	}
	if names := dstEntries(t, f.dstDir); len(names) != 0 {
		t.Errorf("files created: %v", names)
	}
	// A directory that is published is "any other error".
	os.Mkdir(filepath.Join(f.srcDir, "dir"), 0o755)
	f.files.Add(wire.FileRecord{Filename: "dir"})
	req, _ := wire.AppendPeerRequest(nil, wire.GetFile, "dir")
	if got := rawGet(t, f.addr(), req); string(got) != "2" {
		t.Errorf("directory: %q", got)
	}
	// After DELETE (Remove) the name is no longer served.
	f.files.Remove("pub.txt")
	req, _ = wire.AppendPeerRequest(nil, wire.GetFile, "pub.txt")
	if got := rawGet(t, f.addr(), req); string(got) != "1" {
		t.Errorf("removed name: %q", got)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, ServerConfig{RequestTimeout: 300 * time.Millisecond})
	noNUL := append([]byte("GET_FILE\x00"), bytes.Repeat([]byte("a"), wire.NameSize)...)
	cases := []struct {
		name string
		req  []byte
		want string
	}{
		{"no NUL in filename", noNUL, "2"},
		{"server op", []byte("REGISTER\x00"), ""},
		{"unknown op", []byte("HELLO\x00"), ""},
		{"long cop", bytes.Repeat([]byte("A"), 100), ""},
		{"truncated, then idle", []byte("GET_FILE\x00abc"), ""},
		{"nothing", nil, ""},
	}
	for _, c := range cases {
		start := time.Now()
		if got := rawGet(t, f.addr(), c.req); string(got) != c.want {
			t.Errorf("%s: reply %q, want %q", c.name, got, c.want)
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("%s: the request deadline did not end the wait", c.name)
		}
	}
}

func TestConcurrentDownloads(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	want := f.publish(t, "a", 3<<20)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := filepath.Join(f.dstDir, "c"+string(rune('0'+i)))
			if res, err := Download(context.Background(), f.addr(), "a", local, DownloadConfig{}); err != nil || res.Outcome != wire.OK {
				t.Errorf("download %d: %+v %v", i, res, err)
				return
			}
			if got, _ := os.ReadFile(local); !bytes.Equal(got, want) {
				t.Errorf("download %d differs", i)
			}
		}()
	}
	wg.Wait()
}

func TestClosedListenerRefuses(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	f.publish(t, "a", 10)
	addr := f.addr()
	f.srv.Close()
	res, err := Download(context.Background(), addr, "a", filepath.Join(f.dstDir, "a"), DownloadConfig{})
	if res.Outcome != wire.Failed || !errors.Is(err, ErrRefused) {
		t.Fatalf("after close: %+v %v", res, err)
	}
}

// fakePeer serves every connection with handle, for peers that do not
// follow this project: original ones, broken ones.
func fakePeer(t *testing.T, handle func(op wire.Op, name string, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				op, name, err := wire.ReadPeerRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				handle(op, name, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestFallbackToOriginalPeer(t *testing.T) {
	want := bytes.Repeat([]byte("original "), 50_000)
	for _, onSized := range []string{"close", "status 2", "status 1"} {
		t.Run(onSized, func(t *testing.T) {
			var mu sync.Mutex
			var ops []wire.Op
			addr := fakePeer(t, func(op wire.Op, name string, c net.Conn) {
				mu.Lock()
				ops = append(ops, op)
				mu.Unlock()
				if op == wire.GetFileSized {
					switch onSized {
					case "status 2":
						c.Write([]byte("2"))
					case "status 1":
						c.Write([]byte("1"))
					}
					return
				}
				if name != "f.txt" {
					c.Write([]byte("1"))
					return
				}
				c.Write([]byte("0"))
				c.Write(want)
			})
			dir := t.TempDir()
			local := filepath.Join(dir, "f.txt")
			res, err := Download(context.Background(), addr, "f.txt", local, DownloadConfig{})
			if err != nil || res.Outcome != wire.OK || res.Sized {
				t.Fatalf("%+v %v", res, err)
			}
			if got, _ := os.ReadFile(local); !bytes.Equal(got, want) {
				t.Fatal("content differs")
			}
			res, _ = Download(context.Background(), addr, "other", filepath.Join(dir, "o"), DownloadConfig{})
			if res.Outcome != wire.FileNotFound {
				t.Errorf("missing file: %+v", res)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(opsStrings(ops), ",") != "GET_FILE_SIZED,GET_FILE,GET_FILE_SIZED,GET_FILE" {
				t.Errorf("requests %v", ops)
			}
		})
	}
}

func opsStrings(ops []wire.Op) []string {
	var s []string
	for _, o := range ops {
		s = append(s, string(o))
	}
	return s
}

func TestShortOrLongSizedTransferFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(c net.Conn)
	}{
		{"closes before its size", func(c net.Conn) {
			c.Write(wire.AppendSize([]byte("0"), 1000))
			c.Write(make([]byte, 999))
		}},
		{"sends more than its size", func(c net.Conn) {
			c.Write(wire.AppendSize([]byte("0"), 1000))
			c.Write(make([]byte, 1001))
		}},
		{"closes inside the size field", func(c net.Conn) {
			c.Write([]byte("0\x00\x00"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakePeer(t, func(op wire.Op, name string, c net.Conn) {
				if op != wire.GetFileSized {
					t.Errorf("fell back to %s after a sized '0'", op)
					return
				}
				tc.send(c)
			})
			dir := t.TempDir()
			local := filepath.Join(dir, "keep.txt")
			os.WriteFile(local, []byte("precious"), 0o644)
			res, err := Download(context.Background(), addr, "x", local, DownloadConfig{})
			if res.Outcome != wire.Failed || err == nil {
				t.Fatalf("%+v %v", res, err)
			}
			t.Log(err)
			if got, _ := os.ReadFile(local); string(got) != "precious" {
				t.Errorf("existing file damaged: %q", got)
			}
			if names := dstEntries(t, dir); len(names) != 1 {
				t.Errorf("left behind: %v", names)
			}
		})
	}
}

func TestStalledPeerTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := fakePeer(t, func(op wire.Op, name string, c net.Conn) {
		c.Write(wire.AppendSize([]byte("0"), 1000))
		c.Write(make([]byte, 10))
		<-release
	})
	dir := t.TempDir()
	res, err := Download(context.Background(), addr, "x", filepath.Join(dir, "x"), DownloadConfig{IdleTimeout: 300 * time.Millisecond})
	if res.Outcome != wire.Failed || err == nil {
		t.Fatalf("%+v %v", res, err)
	}
	if names := dstEntries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

func TestCancelAbortsDownload(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	f.publish(t, "a", 64<<20)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := Download(ctx, f.addr(), "a", filepath.Join(f.dstDir, "a"), DownloadConfig{
		Progress: func(done, total int64) { cancel() },
	})
	if res.Outcome != wire.Failed || !errors.Is(err, context.Canceled) {
		t.Fatalf("%+v %v", res, err)
	}
	if names := dstEntries(t, f.dstDir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// testLog passes each line of the server's logger to t.Log, so a failing
// test shows what the server said.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
