package datetime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// XML 1.0 parsers must read UTF-8 and UTF-16 (§4.3.3), and spyne's lxml also
// reads Latin-1 and ASCII; encoding/xml reads only UTF-8. toUTF8 and
// charsetReader close that gap for the request envelopes.

// toUTF8 returns body as UTF-8: a UTF-16 document (told by its byte order
// mark, or by "<?" encoded in UTF-16, XML 1.0 Appendix F) is transcoded;
// a UTF-8 byte order mark is dropped; anything else is returned as it is
// (its declaration, if any, names its encoding).
func toUTF8(body []byte) ([]byte, error) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(body, []byte("\xef\xbb\xbf")):
		return body[3:], nil
	case bytes.HasPrefix(body, []byte("\xfe\xff")):
		order, body = binary.BigEndian, body[2:]
	case bytes.HasPrefix(body, []byte("\xff\xfe")):
		order, body = binary.LittleEndian, body[2:]
	case bytes.HasPrefix(body, []byte("\x00<\x00?")):
		order = binary.BigEndian
	case bytes.HasPrefix(body, []byte("<\x00?\x00")):
		order = binary.LittleEndian
	default:
		return body, nil
	}
	if len(body)%2 != 0 {
		return nil, clientFault("UTF-16 envelope of an odd number of bytes")
	}
	units := make([]uint16, len(body)/2)
	for i := range units {
		units[i] = order.Uint16(body[2*i:])
	}
	out := make([]byte, 0, len(units))
	for _, r := range utf16.Decode(units) {
		if r == utf8.RuneError {
			return nil, clientFault("UTF-16 envelope with an unpaired surrogate")
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// charsetReader is the xml.Decoder's CharsetReader, called for a declared
// encoding other than "UTF-8": a UTF-16 one was transcoded by toUTF8
// already, "utf8" is UTF-8 misspelt, and Latin-1 and ASCII bytes map one
// to one onto the first 256 code points.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-16", "utf-16le", "utf-16be", "utf8":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (UTF-8, UTF-16, ISO-8859-1 and US-ASCII are)", label)
}
