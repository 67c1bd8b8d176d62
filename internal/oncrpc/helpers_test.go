package oncrpc

import (
	"encoding/binary"
	"io"
	"time"
)

// The tests' writers of records and pings; the package sends records
// with beginRecord and finishRecord.

// AppendFragmentHeader appends a fragment header for n bytes.
func AppendFragmentHeader(buf []byte, n int, last bool) []byte {
	h := uint32(n) & fragmentLenMask
	if last {
		h |= lastFragmentBit
	}
	return binary.BigEndian.AppendUint32(buf, h)
}

// WriteRecord writes rec as one record, split into fragments of at most
// maxFragment bytes (maxFragment <= 0 means one fragment). Each fragment
// goes out with its header in a single Write.
func WriteRecord(w io.Writer, rec []byte, maxFragment int) error {
	if maxFragment <= 0 || maxFragment > fragmentLenMask {
		maxFragment = fragmentLenMask
	}
	if len(rec) <= maxFragment {
		buf := make([]byte, 0, headerSize+len(rec))
		buf = AppendFragmentHeader(buf, len(rec), true)
		_, err := w.Write(append(buf, rec...))
		return err
	}
	buf := make([]byte, 0, headerSize+maxFragment)
	for {
		n := min(len(rec), maxFragment)
		buf = AppendFragmentHeader(buf[:0], n, n == len(rec))
		buf = append(buf, rec[:n]...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		rec = rec[n:]
		if len(rec) == 0 {
			return nil
		}
	}
}

// Null pings the portmapper.
func (p *Portmapper) Null() error {
	_, err := p.c.Call(time.Now().Add(p.timeout), PmapProgram, PmapVersion, PmapProcNull, nil)
	return err
}
