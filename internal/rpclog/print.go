package rpclog

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"p2p/internal/oncrpc"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// HasFilename reports whether lines of this operation show the filename:
// only PUBLISH and DELETE carry one.
func HasFilename(op string) bool { return wire.LogsFilename(wire.Op(op)) }

// AppendLine appends the line the log server prints for e, newline
// included: "<username> <OPERATION> <datetime>", or with the filename
// before the datetime for PUBLISH and DELETE. Each value ends at its first
// NUL byte, if it holds one, as it does for the rpcgen C server (XDR
// strings may carry NUL; C's strings end there). Every value comes from the
// network and is shown by package show (§6, §7 "Showing values"): control
// characters and bytes that are not UTF-8 as \xHH, so one call is always
// exactly one line and cannot drive the terminal.
func AppendLine(b []byte, e Entry) []byte {
	op := cString(e.Operation)
	b = show.Append(b, cString(e.Username))
	b = append(b, ' ')
	b = show.Append(b, op)
	b = append(b, ' ')
	if HasFilename(op) {
		b = show.Append(b, cString(e.Filename))
		b = append(b, ' ')
	}
	b = show.Append(b, cString(e.DateTime))
	return append(b, '\n')
}

// cString returns s up to its first NUL byte.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// Line returns the printed line for e, without its newline.
func Line(e Entry) string {
	b := AppendLine(nil, e)
	return string(b[:len(b)-1])
}

// Printer writes one line per logged entry, each with a single Write so
// that an unbuffered writer (os.Stdout) is flushed per line and lines from
// concurrent calls never interleave.
type Printer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewPrinter returns a Printer writing to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w} }

// Print writes e's line.
func (p *Printer) Print(e Entry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = AppendLine(p.buf[:0], e)
	_, err := p.w.Write(p.buf)
	return err
}

// Register adds P2P_LOG_PROG version 1 to srv: NULL and LOG_OPERATION,
// which prints each entry with p.
func Register(srv *oncrpc.Server, p *Printer) {
	srv.Register(Program, Version, map[uint32]oncrpc.Handler{
		ProcLogOp: func(_ *oncrpc.CallInfo, args []byte, res []byte) ([]byte, error) {
			e, err := DecodeEntry(args)
			if err != nil {
				return res, fmt.Errorf("%w: %v", oncrpc.ErrGarbageArgs, err)
			}
			if err := p.Print(e); err != nil {
				return res, fmt.Errorf("printing log line: %w", err)
			}
			return res, nil
		},
	})
}
