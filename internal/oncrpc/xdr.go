package oncrpc

import (
	"encoding/binary"
	"errors"
)

// errShort is returned by the message decoders when bytes run out or a
// length is out of bounds; callers wrap it with what they were reading.
var errShort = errors.New("truncated or out-of-bounds XDR")

// xdrBuf decodes the few XDR types the message headers need, straight from
// a record, without copying and without trusting any length it reads.
type xdrBuf struct {
	b   []byte
	err error
}

func (x *xdrBuf) uint32() uint32 {
	if x.err != nil || len(x.b) < 4 {
		x.err = errShort
		return 0
	}
	v := binary.BigEndian.Uint32(x.b)
	x.b = x.b[4:]
	return v
}

// opaque reads variable-length opaque data of at most max bytes; the result
// aliases the record.
func (x *xdrBuf) opaque(max int) []byte {
	n := x.uint32()
	if x.err != nil {
		return nil
	}
	padded := (uint64(n) + 3) &^ 3
	if uint64(n) > uint64(max) || padded > uint64(len(x.b)) {
		x.err = errShort
		return nil
	}
	v := x.b[:n:n]
	x.b = x.b[padded:]
	return v
}

func appendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// appendOpaque appends variable-length opaque data with its zero padding.
func appendOpaque(b []byte, v []byte) []byte {
	b = appendUint32(b, uint32(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, pad(len(v)))...)
}

func pad(n int) int { return (4 - n%4) % 4 }
