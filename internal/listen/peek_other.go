//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package listen

import "net"

// waitFirstByte cannot peek on this system: the connection goes to the
// handler at once, under the handler's own deadlines.
func waitFirstByte(net.Conn) error { return nil }
