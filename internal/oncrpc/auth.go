package oncrpc

import (
	"errors"
	"fmt"
)

// AUTH_SYS limits (RFC 5531 appendix A).
const (
	MaxMachineName = 255
	MaxAuthSysGIDs = 16
)

// AuthSysParams is the body of an AUTH_SYS credential.
type AuthSysParams struct {
	Stamp       uint32
	MachineName string
	UID, GID    uint32
	GIDs        []uint32
}

// ErrBadAuthSys is wrapped when an AUTH_SYS body cannot be decoded.
var ErrBadAuthSys = errors.New("oncrpc: malformed AUTH_SYS credential")

// ParseAuthSys decodes an AUTH_SYS credential body, enforcing its limits.
func ParseAuthSys(body []byte) (AuthSysParams, error) {
	var p AuthSysParams
	x := xdrBuf{b: body}
	p.Stamp = x.uint32()
	p.MachineName = string(x.opaque(MaxMachineName))
	p.UID = x.uint32()
	p.GID = x.uint32()
	n := x.uint32()
	if x.err == nil && (n > MaxAuthSysGIDs || int(n)*4 > len(x.b)) {
		x.err = fmt.Errorf("%d gids", n)
	}
	if x.err == nil && n > 0 {
		p.GIDs = make([]uint32, n)
		for i := range p.GIDs {
			p.GIDs[i] = x.uint32()
		}
	}
	if x.err == nil && len(x.b) != 0 {
		x.err = fmt.Errorf("%d trailing bytes", len(x.b))
	}
	if x.err != nil {
		return AuthSysParams{}, fmt.Errorf("%w: %v", ErrBadAuthSys, x.err)
	}
	return p, nil
}

// AppendAuthSys appends the encoded body of an AUTH_SYS credential; the
// caller keeps within the limits (the machine name is cut at
// MaxMachineName bytes and the groups at MaxAuthSysGIDs).
func AppendAuthSys(b []byte, p AuthSysParams) []byte {
	name := p.MachineName
	if len(name) > MaxMachineName {
		name = name[:MaxMachineName]
	}
	gids := p.GIDs
	if len(gids) > MaxAuthSysGIDs {
		gids = gids[:MaxAuthSysGIDs]
	}
	b = appendUint32(b, p.Stamp)
	b = appendOpaque(b, []byte(name))
	b = appendUint32(b, p.UID)
	b = appendUint32(b, p.GID)
	b = appendUint32(b, uint32(len(gids)))
	for _, g := range gids {
		b = appendUint32(b, g)
	}
	return b
}

// checkAuth decides whether the server accepts a call's credential and
// verifier, and if not, why.
func checkAuth(h *CallHeader) AuthStat {
	switch h.Cred.Flavor {
	case AuthNone:
	case AuthSys:
		if _, err := ParseAuthSys(h.Cred.Body); err != nil {
			return AuthBadCred
		}
	default:
		return AuthRejectedCred
	}
	if h.Verf.Flavor != AuthNone {
		return AuthBadVerf
	}
	return AuthOK
}
