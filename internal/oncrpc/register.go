package oncrpc

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// HeldError is returned by Claim when a live server already holds the
// program's mapping: it answered a NULL call on the mapped port.
type HeldError struct {
	Mapping Mapping // the program, version and protocol asked for
	Port    int     // where the live server is
}

// Error describes the mapping and its holder.
func (e *HeldError) Error() string {
	return fmt.Sprintf("program %#x version %d is already registered by a live server on port %d",
		e.Mapping.Prog, e.Mapping.Vers, e.Port)
}

// Claim maps m (a server's program, version, protocol and port) in the
// portmapper pm. rpcbind refuses a SET for a program it already holds, so
// an existing mapping is removed first, but only when it is stale: when
// it names m.Port, or nothing answers a NULL call of the program on the
// port it names (the server that registered it has crashed). A mapping
// held by a live server on another port is left alone: Claim returns a
// *HeldError and the caller serves unregistered. The live check dials
// the holder on host (the portmapper's host), within timeout.
func Claim(pm *Portmapper, m Mapping, host string, timeout time.Duration) error {
	port, err := pm.GetPort(m.Prog, m.Vers, m.Prot)
	if err != nil {
		return err
	}
	if port != 0 && port != int(m.Port) && answersNull(net.JoinHostPort(host, strconv.Itoa(port)), m, timeout) {
		return &HeldError{Mapping: m, Port: port}
	}
	if port != 0 {
		if _, err := pm.Unset(m); err != nil {
			return err
		}
	}
	ok, err := pm.Set(m)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("portmapper refused SET of program %#x version %d port %d", m.Prog, m.Vers, m.Port)
	}
	return nil
}

// Release removes m's mapping from pm if it still names m.Port; one that
// another server has claimed since is left alone (false, nil). UNSET
// removes every protocol's mapping of the program and version.
func Release(pm *Portmapper, m Mapping) (bool, error) {
	port, err := pm.GetPort(m.Prog, m.Vers, m.Prot)
	if err != nil || port != int(m.Port) {
		return false, err
	}
	return pm.Unset(m)
}

// answersNull reports whether a server at addr answers a NULL call of
// m's program and version.
func answersNull(addr string, m Mapping, timeout time.Duration) bool {
	c, err := Dial(addr, timeout)
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.Call(time.Now().Add(timeout), m.Prog, m.Vers, 0, nil)
	return err == nil
}
