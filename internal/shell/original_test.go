package shell

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"p2p/internal/wire"
)

// TestOriginalPeer: a peer that knows only plain GET_FILE (it hangs up on
// GET_FILE_SIZED) is still downloaded from, and says GET_FILE OK.
func TestOriginalPeer(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			op, name, err := wire.ReadPeerRequest(bufio.NewReader(c))
			switch {
			case err != nil || op != wire.GetFile:
			case name == "old.txt":
				c.Write([]byte("0from an original peer"))
			default:
				c.Write([]byte("1"))
			}
			c.Close()
		}
	}()
	w := newWorld(t)
	c := w.client("me")
	c.do("REGISTER me", "REGISTER OK")
	c.write("listusers-me.json", []byte(fmt.Sprintf(`[{"Username": "old", "IP address": "127.0.0.1", "Port": "%d"}]`, ln.Addr().(*net.TCPAddr).Port)))
	c.do("GET_FILE old old.txt got.txt", "GET_FILE OK")
	if got := c.file("got.txt"); got != "from an original peer" {
		t.Errorf("got.txt = %q", got)
	}
	c.do("GET_FILE old other.txt other.txt", "GET_FILE FAIL, FILE DOES NOT EXIST")
	if c.exists("other.txt") {
		t.Error("other.txt created")
	}
}
