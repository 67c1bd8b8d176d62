// Package portarg is the one rule for a TCP port given on a command line
// or in the environment, and its one message for a bad one. The syntax is
// the port field's (wire.ValidPort: decimal digits only, no sign); each
// program says the lowest port it takes (1024 for the server's and the
// client's -p, 1 for LOG_RPC_PORT, 0 — any free port — for the services).
package portarg

import (
	"fmt"
	"strconv"

	"p2p/internal/wire"
)

// Parse reads s as a port in min..65535.
func Parse(s string, min int) (int, error) {
	if wire.ValidPort(s) {
		if n, _ := strconv.Atoi(s); n >= min {
			return n, nil
		}
	}
	return 0, fmt.Errorf("port %q is not in %d..65535", s, min)
}
