package peer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// helperEnv makes the test binary, run as a subprocess, a serving peer
// (TestHelperPeer) that the parent can SIGKILL in the middle of a transfer.
const helperEnv = "P2P_PEER_HELPER_FILE"

// TestHelperPeer is not a test: in a subprocess with helperEnv set, it
// serves that file under the name "f", prints its address and waits.
func TestHelperPeer(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	files := NewCatalog(filepath.Dir(path))
	files.Add(wire.FileRecord{Filename: filepath.Base(path)})
	srv, err := Listen("127.0.0.1:0", files, ServerConfig{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println(srv.Addr())
	time.Sleep(10 * time.Minute)
	os.Exit(1)
}

func TestSIGKILLMidTransfer(t *testing.T) {
	src := t.TempDir()
	path := filepath.Join(src, "big.bin")
	// Much more than the socket buffers hold, so the kill lands mid-file.
	f, _ := os.Create(path)
	f.Truncate(256 << 20)
	f.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPeer$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	p := testenv.Start(t, cmd)
	p.WaitFor(60*time.Second, "the helper peer's address", func() bool { return len(p.Stdout.Lines()) > 0 })
	addr := strings.TrimSpace(p.Stdout.Lines()[0])
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("helper said %q", addr)
	}

	dst := t.TempDir()
	local := filepath.Join(dst, "big.bin")
	os.WriteFile(local, []byte("the old content"), 0o644)
	killed := false
	res, err := Download(context.Background(), addr, "big.bin", local, DownloadConfig{
		Progress: func(done, total int64) {
			if !killed {
				// The first chunk is in: kill the sender and wait
				// until it is really gone before reading on.
				killed = true
				p.Kill()
			}
		},
	})
	if !killed {
		t.Fatal("the transfer ended before the kill")
	}
	if res.Outcome != wire.Failed || err == nil {
		t.Fatalf("after SIGKILL: %+v %v", res, err)
	}
	t.Log(err)
	if got, _ := os.ReadFile(local); string(got) != "the old content" {
		t.Errorf("existing file damaged: %d bytes", len(got))
	}
	if names := dstEntries(t, dst); len(names) != 1 {
		t.Errorf("left behind: %v", names)
	}
}
