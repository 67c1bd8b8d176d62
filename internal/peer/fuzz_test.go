package peer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"p2p/internal/wire"
)

// FuzzPeerRequest sends arbitrary bytes to a real listener and checks the
// answer against what the request means: the file for exactly a published
// name, '1' for any other name, '2' for a filename field without NUL, and
// nothing at all for what is not a peer request. The listener must never
// serve anything else (no path outside the list) nor hang.
func FuzzPeerRequest(f *testing.F) {
	dir := f.TempDir()
	content := []byte("published content\n")
	os.WriteFile(filepath.Join(dir, "pub.txt"), content, 0o644)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("secret"), 0o644)
	files := NewCatalog(dir)
	files.Add(wire.FileRecord{Filename: "pub.txt"})
	srv, err := Listen("127.0.0.1:0", files, ServerConfig{RequestTimeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })

	for _, op := range wire.PeerOps {
		for _, name := range []string{"pub.txt", "secret.txt", "../pub.txt"} {
			req, _ := wire.AppendPeerRequest(nil, op, name)
			f.Add(req)
		}
	}
	f.Add([]byte("GET_FILE\x00"))
	f.Add([]byte("REGISTER\x00"))

	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp4", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.Write(in) // the listener may already have hung up: fine
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("reading the reply: %v", err)
		}

		op, name, perr := wire.ReadPeerRequest(bufio.NewReader(bytes.NewReader(in)))
		var want []byte
		switch {
		case errors.Is(perr, wire.ErrInvalidField):
			want = []byte("2")
		case perr != nil:
			want = nil
		case name != "pub.txt":
			want = []byte("1")
		case op == wire.GetFileSized:
			want = append(wire.AppendSize([]byte("0"), uint64(len(content))), content...)
		default:
			want = append([]byte("0"), content...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("request %q (op %q, name %q, err %v): reply %q, want %q", in, op, name, perr, got, want)
		}
	})
}

// isReset: a listener that hangs up on a request with unread bytes may
// reset the connection; that is a reply of nothing.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
