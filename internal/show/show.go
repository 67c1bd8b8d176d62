// Package show is the one rule for putting a value chosen by someone else
// (a username, filename, description, or any text from the network) on a
// terminal or in a log line (PROTOCOL.md §7, "Showing values").
//
// Control characters and bytes that are not valid UTF-8 are shown as
// \xHH, two lowercase hex digits per byte; everything else is shown as it
// is. The control characters are the C0 bytes 0x01..0x1f (ESC is \x1b, LF
// is \x0a, TAB is \x09), DEL 0x7f, and the C1 characters U+0080..U+009F.
// NUL, which no value holds, is shown as \x00 too.
//
// A C1 character is two bytes in UTF-8 (0xc2 0x80..0xc2 0x9f), and each of
// its bytes is shown: U+009B (CSI, which some terminals take as ESC [) is
// \xc2\x9b. Escaping bytes, never code points, keeps one form for every
// escape: what is shown is always the bytes that arrived, and a reader can
// tell them apart from a character that was shown as it is.
//
// A backslash is shown as it is, as the contract says: "\x1b" typed by a
// user looks the same as an escaped ESC. That cannot drive a terminal or
// split a line; it only makes the shown form ambiguous, never unsafe.
//
// The output of Value never holds a control character or invalid UTF-8,
// so one value is always shown on one line, and Value(Value(s)) == Value(s).
package show

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Value returns s as it is shown: s itself when nothing in it needs
// escaping (no allocation), else a copy with the escapes.
func Value(s string) string {
	if Safe(s) {
		return s
	}
	return string(Append(make([]byte, 0, len(s)+16), s))
}

// Append appends s, as Value shows it, to b.
func Append(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				b = appendHex(b, c)
			} else {
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
			// Not UTF-8 (one byte at a time), or a C1 control (both of
			// its bytes).
			for j := 0; j < n; j++ {
				b = appendHex(b, s[i+j])
			}
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// Safe reports whether s is shown as it is.
func Safe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
			return false
		}
		i += n
	}
	return true
}

// Quoted returns Value(s) between double quotes, for messages that name a
// value ("GET_FILE "x": ...").
func Quoted(s string) string { return `"` + Value(s) + `"` }

func appendHex(b []byte, c byte) []byte {
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
}
