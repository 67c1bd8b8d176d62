package peer

import (
	"context"
	"os"
	"path/filepath"
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
