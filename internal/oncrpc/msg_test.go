package oncrpc

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestCallRoundTrip(t *testing.T) {
	sys := AppendAuthSys(nil, AuthSysParams{Stamp: 9, MachineName: "m", UID: 1, GID: 2, GIDs: []uint32{3}})
	h := CallHeader{XID: 0xdeadbeef, RPCVers: 2, Program: 100000, Version: 2, Procedure: 3,
		Cred: OpaqueAuth{Flavor: AuthSys, Body: sys}, Verf: OpaqueAuth{Flavor: AuthNone, Body: []byte{}}}
	args := []byte{0, 0, 0, 1, 0, 0, 0, 2}
	rec := AppendCall(nil, h, args)
	got, gotArgs, err := DecodeCall(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) || !bytes.Equal(gotArgs, args) {
		t.Fatalf("got %+v %x, want %+v %x", got, gotArgs, h, args)
	}
	p, err := ParseAuthSys(got.Cred.Body)
	if err != nil || p.MachineName != "m" || p.UID != 1 || len(p.GIDs) != 1 {
		t.Fatalf("AUTH_SYS: %+v %v", p, err)
	}
	// Every truncation of the header is an error, never a panic.
	for n := 0; n < len(rec)-len(args); n++ {
		if _, _, err := DecodeCall(rec[:n]); !errors.Is(err, ErrBadCall) && !errors.Is(err, ErrNotCall) {
			t.Fatalf("truncated at %d: err = %v", n, err)
		}
	}
}

func TestAuthSysLimits(t *testing.T) {
	good := AuthSysParams{MachineName: "x", GIDs: make([]uint32, MaxAuthSysGIDs)}
	if _, err := ParseAuthSys(AppendAuthSys(nil, good)); err != nil {
		t.Fatalf("16 gids: %v", err)
	}
	tooMany := AppendAuthSys(nil, AuthSysParams{MachineName: "x"})
	tooMany = append(tooMany[:len(tooMany)-4], 0, 0, 0, 17)
	tooMany = append(tooMany, make([]byte, 17*4)...)
	longName := appendOpaque(appendUint32(nil, 0), make([]byte, 256))
	longName = append(longName, make([]byte, 12)...)
	for name, body := range map[string][]byte{
		"17 gids":           tooMany,
		"256-byte name":     longName,
		"trailing bytes":    append(AppendAuthSys(nil, good), 0, 0, 0, 0),
		"empty":             nil,
		"gids past the end": append(AppendAuthSys(nil, AuthSysParams{})[:16], 0, 0, 0, 5),
	} {
		if _, err := ParseAuthSys(body); !errors.Is(err, ErrBadAuthSys) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestReplyRoundTrip(t *testing.T) {
	tests := []struct {
		rec  []byte
		want ReplyHeader
	}{
		{AppendAcceptedReply(nil, 1, Success, 0, 0, []byte{0, 0, 0, 7}), ReplyHeader{XID: 1, Stat: MsgAccepted, Accept: Success, Results: []byte{0, 0, 0, 7}}},
		{AppendAcceptedReply(nil, 2, ProgUnavail, 0, 0, nil), ReplyHeader{XID: 2, Stat: MsgAccepted, Accept: ProgUnavail}},
		{AppendAcceptedReply(nil, 3, ProgMismatch, 1, 4, nil), ReplyHeader{XID: 3, Stat: MsgAccepted, Accept: ProgMismatch, Low: 1, High: 4}},
		{AppendAcceptedReply(nil, 4, ProcUnavail, 0, 0, nil), ReplyHeader{XID: 4, Stat: MsgAccepted, Accept: ProcUnavail}},
		{AppendAcceptedReply(nil, 5, GarbageArgs, 0, 0, nil), ReplyHeader{XID: 5, Stat: MsgAccepted, Accept: GarbageArgs}},
		{AppendRPCMismatch(nil, 6), ReplyHeader{XID: 6, Stat: MsgDenied, Reject: RPCMismatch, Low: 2, High: 2}},
		{AppendAuthError(nil, 7, AuthTooWeak), ReplyHeader{XID: 7, Stat: MsgDenied, Reject: AuthError, Auth: AuthTooWeak}},
	}
	for _, tc := range tests {
		got, err := DecodeReply(tc.rec)
		if err != nil {
			t.Fatal(err)
		}
		got.Verf = OpaqueAuth{}
		if got.Results != nil && len(got.Results) == 0 {
			got.Results = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("got %+v, want %+v", got, tc.want)
		}
		for n := 0; n < len(tc.rec)-len(tc.want.Results); n++ {
			if r, err := DecodeReply(tc.rec[:n]); err == nil {
				t.Errorf("reply %d truncated at %d bytes decoded: %+v", tc.want.XID, n, r)
			}
		}
	}
}
