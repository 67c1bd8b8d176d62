package csvstore

import (
	"bytes"
	"errors"
	"strings"
)

// The files of §4 are RFC 4180 with ';' as the separator. These are a small
// writer and a reader of our own, because loading must go on past a damaged
// line and say where it was (file:line), and must tell a torn last line (a
// crash mid-append: no final newline) from a whole one.

// appendRecord appends one CSV line: the fields separated by ';', each
// quoted when it needs it, then LF.
func appendRecord(buf []byte, fields ...string) []byte {
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, ';')
		}
		if !needsQuotes(f) {
			buf = append(buf, f...)
			continue
		}
		buf = append(buf, '"')
		for j := 0; j < len(f); j++ {
			if f[j] == '"' {
				buf = append(buf, '"')
			}
			buf = append(buf, f[j])
		}
		buf = append(buf, '"')
	}
	return append(buf, '\n')
}

// needsQuotes: a value holding ';', '"', CR or LF is quoted (§4); so is one
// starting with a space or tab, as Go's encoding/csv does, so that readers
// that trim leading space keep it.
func needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f[0] == ' ' || f[0] == '\t' {
		return true
	}
	return strings.ContainsAny(f, ";\"\r\n")
}

// record is one parsed line (or several, when a quoted value holds a line
// break): its first line number, its fields, or why it is bad.
type record struct {
	line   int
	fields []string
	err    error
	raw    []byte // the record's bytes, for reports
}

// errTorn marks a last line without its final newline: a write cut short.
var errTorn = errors.New("last line has no final newline (torn write), dropped")

// parseCSV splits data into records. Blank lines are skipped. A bad record
// gets an error and parsing resumes on the next line, so one damaged line
// costs only itself.
func parseCSV(data []byte) []record {
	var recs []record
	line := 1
	p := 0
	for p < len(data) {
		if data[p] == '\n' {
			p, line = p+1, line+1
			continue
		}
		if data[p] == '\r' && p+1 < len(data) && data[p+1] == '\n' {
			p, line = p+2, line+1
			continue
		}
		start := p
		rec := record{line: line}
		rec.fields, p, line, rec.err = parseRecord(data, p, line)
		if rec.err != nil {
			rec.fields = nil
			// Resume after the next LF.
			if i := bytes.IndexByte(data[p:], '\n'); i >= 0 {
				p, line = p+i+1, line+1
			} else {
				p = len(data)
			}
		}
		rec.raw = bytes.TrimRight(data[start:p], "\r\n")
		recs = append(recs, rec)
	}
	return recs
}

// parseRecord parses the record starting at p and returns its fields, the
// position after its LF, and the line number there. On error, p is where
// parsing stopped.
func parseRecord(data []byte, p, line int) ([]string, int, int, error) {
	var fields []string
	for {
		var f []byte
		if p < len(data) && data[p] == '"' {
			p++
			for {
				if p >= len(data) {
					return nil, p, line, errTorn
				}
				c := data[p]
				p++
				if c == '"' {
					if p < len(data) && data[p] == '"' {
						f = append(f, '"')
						p++
						continue
					}
					break
				}
				if c == '\n' {
					line++
				}
				f = append(f, c)
			}
		} else {
			start := p
			for p < len(data) && data[p] != ';' && data[p] != '\n' {
				if data[p] == '"' {
					return nil, p, line, errors.New(`bare '"' in an unquoted value`)
				}
				p++
			}
			f = data[start:p]
			if p < len(data) && data[p] == '\n' && len(f) > 0 && f[len(f)-1] == '\r' {
				f = f[:len(f)-1] // CRLF line end
			}
		}
		fields = append(fields, string(f))
		switch {
		case p >= len(data):
			return nil, p, line, errTorn
		case data[p] == ';':
			p++
		case data[p] == '\n':
			return fields, p + 1, line + 1, nil
		case data[p] == '\r' && p+1 < len(data) && data[p+1] == '\n':
			return fields, p + 2, line + 1, nil
		case data[p] == '\r' && p+1 == len(data):
			return nil, p, line, errTorn
		default:
			return nil, p, line, errors.New(`text after a closing '"'`)
		}
	}
}
