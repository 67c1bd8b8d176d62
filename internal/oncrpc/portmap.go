package oncrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Portmapper version 2 (RFC 1833 §3).
const (
	PmapProgram = 100000
	PmapVersion = 2
	PmapPort    = 111

	PmapProcNull    = 0
	PmapProcSet     = 1
	PmapProcUnset   = 2
	PmapProcGetPort = 3
)

// IPProtoTCP is TCP's protocol number, as the portmapper has it.
const IPProtoTCP = 6

// Mapping is a portmapper entry: program, version, protocol, port.
type Mapping struct {
	Prog, Vers, Prot, Port uint32
}

func (m Mapping) append(b []byte) []byte {
	for _, v := range [...]uint32{m.Prog, m.Vers, m.Prot, m.Port} {
		b = appendUint32(b, v)
	}
	return b
}

// Portmapper is a client of a portmapper (rpcbind) over TCP.
type Portmapper struct {
	c       *Client
	timeout time.Duration
}

// DialPortmapper connects to the portmapper at addr ("host:port"; a bare
// host means port 111). Every call is bounded by timeout.
func DialPortmapper(addr string, timeout time.Duration) (*Portmapper, error) {
	return dialPortmapper(addr, timeout)
}

// DialLocalPortmapper connects to 127.0.0.1:111 for SET and UNSET. rpcbind
// takes those only from a local caller: over TCP that means a privileged
// source port (rpcbind's "old-style local" check), so when the process may
// bind one it does, as libtirpc's bindresvport does; otherwise it dials
// from any port and rpcbind may answer false.
func DialLocalPortmapper(timeout time.Duration) (*Portmapper, error) {
	const addr = "127.0.0.1:111"
	for port := 1023; port >= 600; port-- {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}}
		conn, err := d.Dial("tcp4", addr)
		if err == nil {
			return &Portmapper{c: NewClient(conn, 0), timeout: timeout}, nil
		}
		if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL) {
			continue // that source port is taken: try the next one
		}
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			break // not privileged
		}
		return nil, fmt.Errorf("portmapper %s: %w", addr, err)
	}
	return dialPortmapper(addr, timeout)
}

func dialPortmapper(addr string, timeout time.Duration) (*Portmapper, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, fmt.Sprint(PmapPort))
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("portmapper %s: %w", addr, err)
	}
	return &Portmapper{c: NewClient(conn, 0), timeout: timeout}, nil
}

// Close closes the connection to the portmapper.
func (p *Portmapper) Close() error { return p.c.Close() }

func (p *Portmapper) call(proc uint32, args []byte) (uint32, error) {
	res, err := p.c.Call(time.Now().Add(p.timeout), PmapProgram, PmapVersion, proc, args)
	if err != nil {
		return 0, fmt.Errorf("portmapper: %w", err)
	}
	if len(res) < 4 {
		return 0, fmt.Errorf("portmapper: %w: %d-byte result", ErrBadReply, len(res))
	}
	return binary.BigEndian.Uint32(res), nil
}

// GetPort asks for the port of (prog, vers, prot); 0 means not registered.
func (p *Portmapper) GetPort(prog, vers, prot uint32) (int, error) {
	port, err := p.call(PmapProcGetPort, Mapping{prog, vers, prot, 0}.append(nil))
	if err != nil {
		return 0, err
	}
	if port > 65535 {
		return 0, fmt.Errorf("portmapper: %w: port %d", ErrBadReply, port)
	}
	return int(port), nil
}

// Set registers m; false means the portmapper refused (it already holds
// that program, version and protocol, or it does not trust the caller).
func (p *Portmapper) Set(m Mapping) (bool, error) {
	ok, err := p.call(PmapProcSet, m.append(nil))
	return ok != 0, err
}

// Unset removes every mapping of (m.Prog, m.Vers), whatever the protocol
// and port; false means there was none (or the caller is not trusted).
func (p *Portmapper) Unset(m Mapping) (bool, error) {
	ok, err := p.call(PmapProcUnset, m.append(nil))
	return ok != 0, err
}
