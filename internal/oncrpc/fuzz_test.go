package oncrpc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"p2p/internal/logging"
)

// Seeds live in testdata/fuzz/<FuzzName>/ (CI runs them as plain tests);
// `go test -fuzz FuzzRecordReader ./internal/oncrpc` explores further.

func FuzzRecordReader(f *testing.F) {
	f.Add(frag("hello", true))
	f.Add(append(frag("ab", false), frag("cd", true)...))
	f.Add(AppendFragmentHeader(nil, 0x7fffffff, true))
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 256
		rr := NewRecordReader(bytes.NewReader(stream), limit)
		consumed := 0
		for {
			rec, err := rr.ReadRecord()
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrRecordTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(rec) > limit {
				t.Fatalf("record of %d bytes past the %d limit", len(rec), limit)
			}
			consumed += len(rec)
			if consumed > len(stream) {
				t.Fatal("more record bytes than stream bytes")
			}
		}
		if cap(rr.buf) > 2*readChunk {
			t.Fatalf("buffer grew to %d bytes", cap(rr.buf))
		}
	})
}

func FuzzDecodeCall(f *testing.F) {
	sys := AppendAuthSys(nil, AuthSysParams{Stamp: 1, MachineName: "host", UID: 1, GID: 1, GIDs: []uint32{1, 2}})
	f.Add(AppendCall(nil, CallHeader{XID: 1, RPCVers: 2, Program: testProg, Version: 1, Procedure: procEcho}, u32(5)))
	f.Add(AppendCall(nil, CallHeader{XID: 2, RPCVers: 2, Program: testProg, Version: 1, Procedure: 0, Cred: OpaqueAuth{Flavor: AuthSys, Body: sys}}, nil))
	f.Add(AppendCall(nil, CallHeader{XID: 3, RPCVers: 3, Program: 1, Version: 1}, nil))
	f.Add(AppendAcceptedReply(nil, 4, Success, 0, 0, nil))
	f.Fuzz(func(t *testing.T, rec []byte) {
		h, args, err := DecodeCall(rec)
		if err == nil {
			if len(h.Cred.Body) > MaxAuthBytes || len(h.Verf.Body) > MaxAuthBytes {
				t.Fatal("auth body over 400 bytes accepted")
			}
			h2, args2, err := DecodeCall(AppendCall(nil, h, args))
			if err != nil || h2.XID != h.XID || h2.Procedure != h.Procedure || !bytes.Equal(args2, args) ||
				!bytes.Equal(h2.Cred.Body, h.Cred.Body) {
				t.Fatalf("re-encoded call differs: %+v vs %+v (%v)", h2, h, err)
			}
		}
		ParseAuthSys(h.Cred.Body) // must not panic
		DecodeReply(rec)          // nor this

		// The server either closes the connection or answers a reply
		// carrying the call's XID.
		s := &Server{Log: logging.Discard()}
		s.Register(testProg, 1, map[uint32]Handler{procEcho: func(_ *CallInfo, args, res []byte) ([]byte, error) {
			if len(args) != 4 {
				return res, ErrGarbageArgs
			}
			return append(res, args...), nil
		}})
		out, herr := s.dispatch(&CallInfo{Remote: &net.TCPAddr{}}, rec, nil)
		if herr != nil {
			return
		}
		r, err := DecodeReply(out)
		if err != nil || r.XID != h.XID {
			t.Fatalf("server reply %x does not decode with XID %d: %v", out, h.XID, err)
		}
	})
}
