package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ByteReader is what the decoders read from: a buffered connection
// (*bufio.Reader) in practice, since the cop is read up to its NUL.
type ByteReader interface {
	io.Reader
	io.ByteReader
}

// AppendField appends value as a fixed field of width bytes: the value, then
// NUL bytes up to width. The value must be shorter than width and hold no NUL.
func AppendField(buf []byte, value string, width int) ([]byte, error) {
	if len(value) > width-1 {
		return buf, fmt.Errorf("%w: value of %d bytes does not fit a %d-byte field", ErrMalformed, len(value), width)
	}
	if strings.IndexByte(value, 0) >= 0 {
		return buf, fmt.Errorf("%w: value holds a NUL byte", ErrMalformed)
	}
	buf = append(buf, value...)
	// Padding in one append (the compiler allocates nothing for the
	// make): list replies are mostly padding, and byte-by-byte appends were
	// most of a LIST_USERS request's work.
	return append(buf, make([]byte, width-len(value))...), nil
}

// FieldFits reports whether AppendField can encode value in a field of
// width bytes: shorter than width, no NUL.
func FieldFits(value string, width int) bool {
	return len(value) < width && strings.IndexByte(value, 0) < 0
}

// ParseField returns the value of a fixed field: the bytes up to the first
// NUL. A field with no NUL is malformed.
func ParseField(field []byte) (string, error) {
	i := bytes.IndexByte(field, 0)
	if i < 0 {
		return "", fmt.Errorf("%w: %d bytes without NUL", ErrInvalidField, len(field))
	}
	return string(field[:i]), nil
}

// ErrInvalidField is wrapped by the errors of a fixed field that arrived
// whole but holds no NUL. Unlike a truncated message, the rest of the
// message can still be read, and the central server answers the operation's
// last code ("any other failure") for it.
var ErrInvalidField = fmt.Errorf("%w: invalid field", ErrMalformed)

// ReadField reads one fixed field of width bytes and returns its value. A
// short read gives io.ErrUnexpectedEOF (io.EOF when nothing came at all).
func ReadField(r io.Reader, width int) (string, error) {
	return readField(r, make([]byte, width))
}

// readField reads one fixed field of len(buf) bytes into buf and returns
// its value (a copy).
func readField(r io.Reader, buf []byte) (string, error) {
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return ParseField(buf)
}

// AppendOp appends a cop: the name, then one NUL.
func AppendOp(buf []byte, op Op) []byte {
	buf = append(buf, op...)
	return append(buf, 0)
}

// ReadOp reads a cop: at most MaxCopLen bytes, then a NUL. It returns
// ErrMalformed for a longer one and io.EOF when the peer sent nothing.
// Whether the name is known is for the caller to decide (IsServerOp,
// IsPeerOp).
func ReadOp(r io.ByteReader) (Op, error) {
	var name [MaxCopLen]byte
	for n := 0; ; n++ {
		c, err := r.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == 0 {
			return Op(name[:n]), nil
		}
		if n == MaxCopLen {
			return "", fmt.Errorf("%w: cop longer than %d bytes", ErrMalformed, MaxCopLen)
		}
		name[n] = c
	}
}

// AppendStatus appends a status byte.
func AppendStatus(buf []byte, s Status) []byte { return append(buf, s.Byte()) }

// ReadStatus reads one status byte, which must be an ASCII digit.
func ReadStatus(r io.Reader) (Status, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	if b[0] < '0' || b[0] > '9' {
		return 0, fmt.Errorf("%w: status byte %#x is not a digit", ErrMalformed, b[0])
	}
	return Status(b[0] - '0'), nil
}

// AppendCount appends a 4-byte big-endian count.
func AppendCount(buf []byte, n uint32) []byte { return binary.BigEndian.AppendUint32(buf, n) }

// ReadCount reads a 4-byte big-endian count.
func ReadCount(r io.Reader) (uint32, error) {
	var b [CountSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, eofIsUnexpected(err)
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// AppendSize appends the 8-byte big-endian file size of GET_FILE_SIZED.
func AppendSize(buf []byte, n uint64) []byte { return binary.BigEndian.AppendUint64(buf, n) }

// ReadSize reads the 8-byte big-endian file size of GET_FILE_SIZED.
func ReadSize(r io.Reader) (uint64, error) {
	var b [SizeSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, eofIsUnexpected(err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// eofIsUnexpected turns a clean EOF into io.ErrUnexpectedEOF, for reads that
// come after a message has started.
func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
