package peer

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"p2p/internal/wire"
)

// TestNotRegularRefused: a published name that is a FIFO (with no writer),
// a folder or a device is refused with '2' at once, and the listener still
// closes (QUIT exits). A plain open of the FIFO blocked its handler for
// good, and Close waited for it.
func TestNotRegularRefused(t *testing.T) {
	f := newFixture(t, ServerConfig{})
	if err := syscall.Mkfifo(filepath.Join(f.srcDir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(f.srcDir, "folder"), 0o755)
	os.Symlink(filepath.Join(f.srcDir, "fifo"), filepath.Join(f.srcDir, "link-to-fifo"))
	for _, name := range []string{"fifo", "folder", "link-to-fifo", "/dev/null"} {
		f.files.Add(wire.FileRecord{Filename: name})
		for _, op := range []wire.Op{wire.GetFileSized, wire.GetFile} {
			req, _ := wire.AppendPeerRequest(nil, op, name)
			got := make(chan []byte, 1)
			go func() { got <- rawGet(t, f.addr(), req) }()
			select {
			case b := <-got:
				if string(b) != "2" {
					t.Errorf("%s %s: reply %q, want \"2\"", op, name, b)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%s %s: no reply", op, name)
			}
		}
		res, err := Download(context.Background(), f.addr(), name, filepath.Join(f.dstDir, "x"), DownloadConfig{IdleTimeout: 2 * time.Second})
		if res.Outcome != wire.Failed || err == nil {
			t.Errorf("download of %s: %+v %v", name, res, err)
		}
	}
	if names := dstEntries(t, f.dstDir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
	closed := make(chan struct{})
	go func() { f.srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close is stuck behind a handler")
	}
}

// TestSizeBound: a peer announcing more than the destination can hold (by
// default the free space there) fails at once, before a byte is written;
// a plain transfer fails as soon as it goes past the bound.
func TestSizeBound(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := fakePeer(t, func(op wire.Op, name string, c net.Conn) {
		switch {
		case op == wire.GetFileSized && name == "huge":
			c.Write(wire.AppendSize([]byte("0"), 1<<60)) // an exabyte
			<-release
		case op == wire.GetFileSized:
			c.Write([]byte("1")) // falls back to plain
		default:
			c.Write([]byte("0"))
			c.Write(make([]byte, 10_000))
			<-release
		}
	})
	dir := t.TempDir()
	local := filepath.Join(dir, "x")
	os.WriteFile(local, []byte("old"), 0o644)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := Download(context.Background(), addr, "huge", local, DownloadConfig{IdleTimeout: time.Minute})
		if res.Outcome != wire.Failed || err == nil || !strings.Contains(err.Error(), "free space") {
			t.Errorf("huge: %+v %v", res, err)
		}
		t.Log(err)
		res, err = Download(context.Background(), addr, "endless", local, DownloadConfig{IdleTimeout: time.Minute, MaxSize: 1000})
		if res.Outcome != wire.Failed || err == nil || !strings.Contains(err.Error(), "more than the 1000 bytes") {
			t.Errorf("endless plain: %+v %v", res, err)
		}
		t.Log(err)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the downloads wait for the peer (no bound)")
	}
	if got, _ := os.ReadFile(local); string(got) != "old" {
		t.Errorf("existing file damaged: %q", got)
	}
	if names := dstEntries(t, dir); len(names) != 1 {
		t.Errorf("left behind: %v", names)
	}
}
