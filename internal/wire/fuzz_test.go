package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"p2p/internal/wire"
)

// FuzzReadRequest feeds arbitrary bytes to the request decoder the server
// uses. It must never panic nor read past one request; a request it
// accepts re-encodes to as many bytes as it consumed (padding after a NUL
// may be anything) and decodes back the same; a field without NUL keeps
// the operation, so the server can answer its last code.
func FuzzReadRequest(f *testing.F) {
	for _, r := range []wire.Request{
		{Op: wire.Register, DateTime: "30/11/2026 17:20:00", Username: "alice"},
		{Op: wire.Connect, DateTime: "d", Username: "a;b \"c\"", Port: "65535"},
		{Op: wire.Publish, DateTime: "d", Username: "u", Filename: "f", Description: "é"},
		{Op: wire.Delete, DateTime: "d", Username: "u", Filename: "f"},
		{Op: wire.ListContent, DateTime: "d", Username: "u", Remote: "r"},
		{Op: wire.Search, DateTime: "d", Username: "u", Words: "Song.MP3 é"},
	} {
		b, _ := wire.AppendRequest(nil, r)
		f.Add(b)
	}
	f.Add([]byte("HELLO\x00"))
	f.Add(bytes.Repeat([]byte("A"), 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := bytes.NewReader(in) // reads no further than asked
		req, err := wire.ReadRequest(rd)
		consumed := len(in) - rd.Len()
		switch {
		case err == nil:
			out, aerr := wire.AppendRequest(nil, req)
			if aerr != nil {
				t.Fatalf("accepted request does not re-encode: %v", aerr)
			}
			if len(out) != consumed {
				t.Fatalf("consumed %d bytes, re-encoded to %d", consumed, len(out))
			}
			if again, err := wire.ReadRequest(bufio.NewReader(bytes.NewReader(out))); err != nil || again != req {
				t.Fatalf("re-encoded request reads back as %+v, %v", again, err)
			}
			if consumed > wire.MaxRequestSize {
				t.Fatalf("request of %d bytes exceeds %d", len(out), wire.MaxRequestSize)
			}
		case errors.Is(err, wire.ErrInvalidField):
			if !wire.IsServerOp(req.Op) || consumed > wire.MaxRequestSize {
				t.Fatalf("invalid field without a known op: %+v", req)
			}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, wire.ErrMalformed):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
