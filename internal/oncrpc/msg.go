package oncrpc

import (
	"errors"
	"fmt"
)

// RPCVersion is the only version of the RPC protocol (RFC 5531 §8).
const RPCVersion = 2

// MaxAuthBytes bounds the body of a credential or verifier (RFC 5531 §8.2).
const MaxAuthBytes = 400

// MsgType tells a call from a reply.
type MsgType uint32

// Message types.
const (
	Call  MsgType = 0
	Reply MsgType = 1
)

// ReplyStat tells an accepted reply from a denied one.
type ReplyStat uint32

// Reply statuses.
const (
	MsgAccepted ReplyStat = 0
	MsgDenied   ReplyStat = 1
)

// AcceptStat is the status of an accepted reply.
type AcceptStat uint32

// Accept statuses (RFC 5531 §9).
const (
	Success      AcceptStat = 0 // RPC executed successfully
	ProgUnavail  AcceptStat = 1 // remote hasn't exported the program
	ProgMismatch AcceptStat = 2 // remote can't support the version
	ProcUnavail  AcceptStat = 3 // program can't support the procedure
	GarbageArgs  AcceptStat = 4 // procedure can't decode the arguments
	SystemErr    AcceptStat = 5 // e.g. memory allocation failure
)

var acceptNames = [...]string{"SUCCESS", "PROG_UNAVAIL", "PROG_MISMATCH", "PROC_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR"}

// String returns the RFC name of the status.
func (s AcceptStat) String() string {
	if int(s) < len(acceptNames) {
		return acceptNames[s]
	}
	return fmt.Sprintf("accept_stat(%d)", uint32(s))
}

// RejectStat is the reason of a denied reply.
type RejectStat uint32

// Reject statuses.
const (
	RPCMismatch RejectStat = 0 // RPC version number != 2
	AuthError   RejectStat = 1 // remote can't authenticate the caller
)

// String returns the RFC name of the status.
func (s RejectStat) String() string {
	switch s {
	case RPCMismatch:
		return "RPC_MISMATCH"
	case AuthError:
		return "AUTH_ERROR"
	}
	return fmt.Sprintf("reject_stat(%d)", uint32(s))
}

// AuthStat says why authentication failed.
type AuthStat uint32

// Authentication statuses (the ones this package sends or may receive).
const (
	AuthOK           AuthStat = 0
	AuthBadCred      AuthStat = 1 // bad credential (seal broken)
	AuthRejectedCred AuthStat = 2 // client must begin a new session
	AuthBadVerf      AuthStat = 3 // bad verifier (seal broken)
	AuthRejectedVerf AuthStat = 4 // verifier expired or replayed
	AuthTooWeak      AuthStat = 5 // rejected for security reasons
)

// AuthFlavor names an authentication scheme.
type AuthFlavor uint32

// Flavors accepted by the server.
const (
	AuthNone AuthFlavor = 0
	AuthSys  AuthFlavor = 1
)

// OpaqueAuth is a credential or a verifier: a flavor and up to MaxAuthBytes
// bytes of body.
type OpaqueAuth struct {
	Flavor AuthFlavor
	Body   []byte
}

// CallHeader is everything of a call message before its arguments.
type CallHeader struct {
	XID       uint32
	RPCVers   uint32
	Program   uint32
	Version   uint32
	Procedure uint32
	Cred      OpaqueAuth
	Verf      OpaqueAuth
}

// ErrNotCall is wrapped when a record decoded as a message is not a call.
var ErrNotCall = errors.New("oncrpc: message is not a call")

// ErrBadCall is wrapped when a call's header is cut short or out of bounds.
var ErrBadCall = errors.New("oncrpc: malformed call header")

// DecodeCall splits a call record into its header and its arguments. When
// the XID could be read but the rest is malformed, the returned header
// still carries the XID, so that a server can answer with an error reply.
// Body slices alias rec.
func DecodeCall(rec []byte) (h CallHeader, args []byte, err error) {
	x := xdrBuf{b: rec}
	h.XID = x.uint32()
	mt := x.uint32()
	if x.err != nil {
		return h, nil, fmt.Errorf("%w: %d bytes", ErrBadCall, len(rec))
	}
	if MsgType(mt) != Call {
		return h, nil, fmt.Errorf("%w (msg_type %d)", ErrNotCall, mt)
	}
	h.RPCVers = x.uint32()
	h.Program = x.uint32()
	h.Version = x.uint32()
	h.Procedure = x.uint32()
	h.Cred.Flavor = AuthFlavor(x.uint32())
	h.Cred.Body = x.opaque(MaxAuthBytes)
	h.Verf.Flavor = AuthFlavor(x.uint32())
	h.Verf.Body = x.opaque(MaxAuthBytes)
	if x.err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrBadCall, x.err)
	}
	return h, x.b, nil
}

// AppendCall appends a call message: header then the already-encoded
// arguments.
func AppendCall(b []byte, h CallHeader, args []byte) []byte {
	b = appendUint32(b, h.XID)
	b = appendUint32(b, uint32(Call))
	b = appendUint32(b, h.RPCVers)
	b = appendUint32(b, h.Program)
	b = appendUint32(b, h.Version)
	b = appendUint32(b, h.Procedure)
	b = appendAuth(b, h.Cred)
	b = appendAuth(b, h.Verf)
	return append(b, args...)
}

func appendAuth(b []byte, a OpaqueAuth) []byte {
	b = appendUint32(b, uint32(a.Flavor))
	return appendOpaque(b, a.Body)
}

// ReplyHeader is a decoded reply message. For an accepted reply, Results
// holds the procedure's results when Accept is Success; Low and High are the
// supported versions for ProgMismatch and RPCMismatch; AuthStat is set for
// AuthError.
type ReplyHeader struct {
	XID     uint32
	Stat    ReplyStat
	Verf    OpaqueAuth
	Accept  AcceptStat
	Reject  RejectStat
	Auth    AuthStat
	Low     uint32
	High    uint32
	Results []byte
}

// ErrBadReply is wrapped when a reply cannot be decoded.
var ErrBadReply = errors.New("oncrpc: malformed reply")

// DecodeReply decodes a reply record. Results aliases rec.
func DecodeReply(rec []byte) (ReplyHeader, error) {
	var r ReplyHeader
	x := xdrBuf{b: rec}
	r.XID = x.uint32()
	mt := x.uint32()
	if x.err == nil && MsgType(mt) != Reply {
		return r, fmt.Errorf("%w: msg_type %d", ErrBadReply, mt)
	}
	r.Stat = ReplyStat(x.uint32())
	switch {
	case x.err != nil:
	case r.Stat == MsgAccepted:
		r.Verf.Flavor = AuthFlavor(x.uint32())
		r.Verf.Body = x.opaque(MaxAuthBytes)
		r.Accept = AcceptStat(x.uint32())
		switch r.Accept {
		case Success:
			r.Results = x.b
		case ProgMismatch:
			r.Low, r.High = x.uint32(), x.uint32()
		}
	case r.Stat == MsgDenied:
		r.Reject = RejectStat(x.uint32())
		switch r.Reject {
		case RPCMismatch:
			r.Low, r.High = x.uint32(), x.uint32()
		case AuthError:
			r.Auth = AuthStat(x.uint32())
		default:
			x.err = fmt.Errorf("reject_stat %d", r.Reject)
		}
	default:
		x.err = fmt.Errorf("reply_stat %d", r.Stat)
	}
	if x.err != nil {
		return r, fmt.Errorf("%w: %v", ErrBadReply, x.err)
	}
	return r, nil
}

// appendAcceptedHeader appends the start of an accepted reply with an
// AUTH_NONE verifier, up to and including its accept_stat.
func appendAcceptedHeader(b []byte, xid uint32, stat AcceptStat) []byte {
	b = appendUint32(b, xid)
	b = appendUint32(b, uint32(Reply))
	b = appendUint32(b, uint32(MsgAccepted))
	b = appendUint32(b, uint32(AuthNone))
	b = appendUint32(b, 0)
	return appendUint32(b, uint32(stat))
}

// AppendAcceptedReply appends a whole accepted reply: results follow a
// Success; low and high follow a ProgMismatch; nothing follows the others.
func AppendAcceptedReply(b []byte, xid uint32, stat AcceptStat, low, high uint32, results []byte) []byte {
	b = appendAcceptedHeader(b, xid, stat)
	switch stat {
	case Success:
		b = append(b, results...)
	case ProgMismatch:
		b = appendUint32(appendUint32(b, low), high)
	}
	return b
}

// AppendRPCMismatch appends a denied reply giving the supported RPC versions.
func AppendRPCMismatch(b []byte, xid uint32) []byte {
	b = appendUint32(b, xid)
	b = appendUint32(b, uint32(Reply))
	b = appendUint32(b, uint32(MsgDenied))
	b = appendUint32(b, uint32(RPCMismatch))
	return appendUint32(appendUint32(b, RPCVersion), RPCVersion)
}

// AppendAuthError appends a denied reply for a failed authentication.
func AppendAuthError(b []byte, xid uint32, why AuthStat) []byte {
	b = appendUint32(b, xid)
	b = appendUint32(b, uint32(Reply))
	b = appendUint32(b, uint32(MsgDenied))
	b = appendUint32(b, uint32(AuthError))
	return appendUint32(b, uint32(why))
}
