package oncrpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Record marking (RFC 5531 §11): on a stream, a record is one or more
// fragments, each preceded by a 4-byte big-endian header whose top bit marks
// the last fragment and whose other 31 bits give the fragment's length.
const (
	lastFragmentBit = 1 << 31
	fragmentLenMask = lastFragmentBit - 1
	headerSize      = 4
)

// DefaultMaxRecordSize bounds a record (all its fragments together) when a
// reader is given no limit. Calls and replies of the programs here are a
// few kilobytes at most.
const DefaultMaxRecordSize = 64 << 10

// ErrRecordTooLarge is returned when a record's fragments add up to more
// than the reader's limit. The stream cannot be resynchronised after it: the
// connection should be closed.
var ErrRecordTooLarge = errors.New("oncrpc: record larger than the limit")

// readChunk caps how much the reader grows its buffer before the bytes have
// actually arrived, so a header that claims a big fragment costs nothing
// until the peer really sends it.
const readChunk = 16 << 10

// RecordReader reads records from a byte stream.
type RecordReader struct {
	r   *bufio.Reader
	max int
	buf []byte
	// Started, when set, is called once a record's first header has
	// arrived and the rest is not already buffered (the server uses it to
	// switch from the idle deadline to the per-record deadline).
	Started func()
}

// NewRecordReader returns a reader of records of at most max bytes (max <= 0
// means DefaultMaxRecordSize). It buffers r.
func NewRecordReader(r io.Reader, max int) *RecordReader {
	if max <= 0 {
		max = DefaultMaxRecordSize
	}
	return &RecordReader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// Buffered reports how many bytes are already read from the stream but not
// yet returned.
func (rr *RecordReader) Buffered() int { return rr.r.Buffered() }

// RecordBuffered reports whether a whole single-fragment record is already
// buffered, so that reading it will not wait for the network.
func (rr *RecordReader) RecordBuffered() bool {
	n := rr.r.Buffered()
	if n < headerSize {
		return false
	}
	h, err := rr.r.Peek(headerSize)
	if err != nil {
		return false
	}
	return wholeRecord(binary.BigEndian.Uint32(h), n-headerSize)
}

// wholeRecord reports whether the fragment of header hdr is a record's
// last and fits in the buffered bytes that follow the header.
func wholeRecord(hdr uint32, buffered int) bool {
	return hdr&lastFragmentBit != 0 && int(hdr&fragmentLenMask) <= buffered
}

// ReadRecord returns the next whole record, its fragments joined. The slice
// is valid until the next call. At a clean end of stream between records it
// returns io.EOF; a stream that ends inside a record gives
// io.ErrUnexpectedEOF.
func (rr *RecordReader) ReadRecord() ([]byte, error) {
	rr.buf = rr.buf[:0]
	first := true
	for {
		var h [headerSize]byte
		if _, err := io.ReadFull(rr.r, h[:1]); err != nil {
			if first && err == io.EOF {
				return nil, io.EOF
			}
			return nil, unexpected(err)
		}
		if _, err := io.ReadFull(rr.r, h[1:]); err != nil {
			return nil, unexpected(err)
		}
		hdr := binary.BigEndian.Uint32(h[:])
		n := int(hdr & fragmentLenMask)
		if n > rr.max-len(rr.buf) {
			return nil, fmt.Errorf("%w (%d bytes)", ErrRecordTooLarge, rr.max)
		}
		if first {
			first = false
			// Only a record that is not already all buffered needs the
			// per-record deadline: this saves a timer reset per call.
			if rr.Started != nil && !wholeRecord(hdr, rr.r.Buffered()) {
				rr.Started()
			}
		}
		if err := rr.readFragment(n); err != nil {
			return nil, err
		}
		if hdr&lastFragmentBit != 0 {
			return rr.buf, nil
		}
	}
}

// readFragment appends n bytes to rr.buf, growing it only as data arrives.
func (rr *RecordReader) readFragment(n int) error {
	for n > 0 {
		chunk := min(n, readChunk)
		start := len(rr.buf)
		if cap(rr.buf)-start < chunk {
			nb := make([]byte, start, max(2*cap(rr.buf), start+chunk))
			copy(nb, rr.buf)
			rr.buf = nb
		}
		rr.buf = rr.buf[:start+chunk]
		if _, err := io.ReadFull(rr.r, rr.buf[start:]); err != nil {
			return unexpected(err)
		}
		n -= chunk
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// beginRecord appends room for a single-fragment header to buf;
// finishRecord, given the record from that header on, fills it in.
// Together they let messages be built back to back and sent in one Write
// without copying.
func beginRecord(buf []byte) []byte { return append(buf, 0, 0, 0, 0) }

func finishRecord(buf []byte) []byte {
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-headerSize)|lastFragmentBit)
	return buf
}
