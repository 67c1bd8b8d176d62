// Package rpclog is the P2P_LOG program of PROTOCOL.md §6: its interface
// (p2p_log.x), the XDR form of a log entry, the handler that prints entries,
// and the central server's queued, non-blocking logger.
package rpclog

import _ "embed"

// XFile is the program's interface in rpcgen's language, as shipped in
// p2p_log.x; interop tests feed it to rpcgen.
//
//go:embed p2p_log.x
var XFile string

// Program, version and procedure numbers from p2p_log.x.
const (
	Program     = 0x20240512
	Version     = 1
	ProcNull    = 0
	ProcLogOp   = 1
	MaxName     = 256
	MaxDateTime = 20
)

// Entry is one log_entry: a request the central server parsed. Its fields
// are in XDR order; Filename is "" unless the operation is PUBLISH or DELETE.
type Entry struct {
	Username  string
	Operation string
	Filename  string
	DateTime  string
}
