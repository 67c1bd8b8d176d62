package rpclog

import (
	"bytes"
	"fmt"

	xdr "github.com/davecgh/go-xdr/xdr2"
)

// AppendEntry appends e as an XDR log_entry. A field longer than the .x
// file allows is an error: rpcgen's decoder would refuse it.
func AppendEntry(b []byte, e Entry) ([]byte, error) {
	if err := e.check(); err != nil {
		return b, err
	}
	buf := bytes.NewBuffer(b)
	enc := xdr.NewEncoder(buf)
	for _, s := range [...]string{e.Username, e.Operation, e.Filename, e.DateTime} {
		if _, err := enc.EncodeString(s); err != nil {
			return b, err
		}
	}
	return buf.Bytes(), nil
}

// DecodeEntry decodes an XDR log_entry, refusing fields over their bound
// before allocating them. Trailing bytes are ignored, as rpcgen's stubs do.
func DecodeEntry(args []byte) (Entry, error) {
	dec := xdr.NewDecoderLimited(bytes.NewReader(args), MaxName)
	var f [4]string
	for i := range f {
		s, _, err := dec.DecodeString()
		if err != nil {
			return Entry{}, fmt.Errorf("log_entry field %d: %w", i+1, err)
		}
		f[i] = s
	}
	e := Entry{Username: f[0], Operation: f[1], Filename: f[2], DateTime: f[3]}
	return e, e.check()
}

// check enforces the string bounds of p2p_log.x.
func (e Entry) check() error {
	for _, f := range [...]struct {
		name string
		v    string
		max  int
	}{
		{"username", e.Username, MaxName},
		{"operation", e.Operation, MaxName},
		{"filename", e.Filename, MaxName},
		{"datetime", e.DateTime, MaxDateTime},
	} {
		if len(f.v) > f.max {
			return fmt.Errorf("log_entry %s: %d bytes, at most %d", f.name, len(f.v), f.max)
		}
	}
	return nil
}
