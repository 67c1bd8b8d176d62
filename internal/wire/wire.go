// Package wire is the one definition of the p2p byte protocol shared by the
// central server, the client and the peers (PROTOCOL.md §1–§3): field widths,
// operation names, status codes and the lines a client prints for them, and
// the encoders and decoders of every request and reply.
//
// Decoders enforce every width and limit and report malformed input as an
// error value wrapping ErrMalformed; they never panic and never allocate
// more than a field's width on the say-so of a peer.
package wire

import (
	"errors"
	"fmt"
	"strconv"
)

// Field widths on the wire, in bytes, NUL terminator included (§1).
const (
	NameSize     = 256 // username, filename, description
	IPSize       = 16  // dotted IPv4
	PortSize     = 6   // decimal port
	DateTimeSize = 20  // "dd/mm/yyyy hh:mm:ss"
	CountSize    = 4   // big-endian uint32
	SizeSize     = 8   // GET_FILE_SIZED length, big-endian uint64
	MaxCopLen    = 32  // longest cop before its NUL
)

// MaxValueLen is the longest username, filename or description a client may
// send: the field width less its NUL.
const MaxValueLen = NameSize - 1

// DateTimeLayout is the Go layout of the datetime field's value.
const DateTimeLayout = "02/01/2006 15:04:05"

// ErrMalformed is wrapped by every decoding error caused by bad bytes (as
// opposed to an I/O error or a short read).
var ErrMalformed = errors.New("malformed message")

// ErrUnknownOp is wrapped by ReadOp when the cop is well formed but names no
// operation the reader serves.
var ErrUnknownOp = fmt.Errorf("%w: unknown operation", ErrMalformed)

// Op is an operation code (cop): the ASCII name sent before a NUL.
type Op string

// The operations of the central server (§2) and of the peers (§3).
const (
	Register     Op = "REGISTER"
	Unregister   Op = "UNREGISTER"
	Connect      Op = "CONNECT"
	Disconnect   Op = "DISCONNECT"
	Publish      Op = "PUBLISH"
	Delete       Op = "DELETE"
	ListUsers    Op = "LIST_USERS"
	ListContent  Op = "LIST_CONTENT"
	Search       Op = "SEARCH" // extension (§2)
	GetFile      Op = "GET_FILE"
	GetFileSized Op = "GET_FILE_SIZED"
)

// ServerOps are the operations the central server answers, in the order of §2.
var ServerOps = []Op{Register, Unregister, Connect, Disconnect, Publish, Delete, ListUsers, ListContent, Search}

// PeerOps are the operations a peer's GET_FILE listener answers.
var PeerOps = []Op{GetFile, GetFileSized}

// LogsFilename reports whether op's entries in the operation log carry
// the request's filename: only PUBLISH and DELETE do.
func LogsFilename(op Op) bool { return op == Publish || op == Delete }

// IsServerOp reports whether op is answered by the central server.
func IsServerOp(op Op) bool { return contains(ServerOps, op) }

// IsPeerOp reports whether op is answered by a peer's listener.
func IsPeerOp(op Op) bool { return contains(PeerOps, op) }

func contains(ops []Op, op Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// ValidPort reports whether s is a port field's value: decimal 0..65535.
func ValidPort(s string) bool {
	if s == "" || len(s) > PortSize-1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	n, err := strconv.Atoi(s)
	return err == nil && n <= 65535
}
