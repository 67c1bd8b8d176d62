package central

import (
	"strings"

	"p2p/internal/wire"
)

// appendUserList appends the same bytes as wire.AppendUserList, padding
// each field in one step rather than byte by byte: a LIST_USERS reply of
// 100 users is 28 KB, and building it is most of that request's work. It
// returns ok false, appending nothing, when a value does not fit.
func appendUserList(buf []byte, recs []wire.UserRecord) (out []byte, ok bool) {
	out = wire.AppendCount(wire.AppendStatus(buf, wire.StatusOK), uint32(len(recs)))
	for _, r := range recs {
		if out, ok = appendFixed(out, r.Username, wire.NameSize); ok {
			if out, ok = appendFixed(out, r.IP, wire.IPSize); ok {
				out, ok = appendFixed(out, r.Port, wire.PortSize)
			}
		}
		if !ok {
			return buf, false
		}
	}
	return out, true
}

// appendFileList is appendUserList's twin for LIST_CONTENT.
func appendFileList(buf []byte, recs []wire.FileRecord) (out []byte, ok bool) {
	out = wire.AppendCount(wire.AppendStatus(buf, wire.StatusOK), uint32(len(recs)))
	for _, r := range recs {
		if out, ok = appendFixed(out, r.Filename, wire.NameSize); ok {
			out, ok = appendFixed(out, r.Description, wire.NameSize)
		}
		if !ok {
			return buf, false
		}
	}
	return out, true
}

// appendFixed appends v as a fixed field of width bytes (§1).
func appendFixed(buf []byte, v string, width int) ([]byte, bool) {
	if len(v) > width-1 || strings.IndexByte(v, 0) >= 0 {
		return buf, false
	}
	buf = append(buf, v...)
	return append(buf, make([]byte, width-len(v))...), true
}
