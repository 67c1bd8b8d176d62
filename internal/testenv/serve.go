package testenv

import (
	"net"
	"testing"
)

// Serve listens on a free port of 127.0.0.1 until t ends and runs handle
// on each connection in a goroutine of its own, closing the connection
// when handle returns: a fake server. It returns the address.
func Serve(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}
