//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package listen

import (
	"io"
	"net"
	"syscall"
)

// waitFirstByte waits, under the connection's read deadline, until a byte
// can be read, without reading it: MSG_PEEK leaves it in the socket, so the
// handler gets the bare *net.TCPConn (and its sendfile) rather than a
// buffered reader in front of it. A connection that closes without
// sending anything is an io.EOF.
func waitFirstByte(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil // nothing to wait on: the handler's deadlines apply
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var buf [1]byte
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		switch {
		case e == syscall.EAGAIN || e == syscall.EINTR:
			return false // not yet: the poller waits, under the deadline
		case e != nil:
			perr = e
		case n == 0:
			perr = io.EOF
		}
		return true
	})
	if err != nil {
		return err
	}
	return perr
}
