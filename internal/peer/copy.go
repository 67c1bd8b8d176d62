package peer

import (
	"errors"
	"io"
	"time"
)

// errTooBig is copyChunks' error for a source longer than its limit.
var errTooBig = errors.New("more bytes than the bound")

// copyChunks copies n bytes (n < 0: up to EOF) from src to dst in chunks,
// renewing a deadline before each so that any stall longer than idle fails.
// Each chunk is one io.CopyN, which keeps the zero-copy paths: with an
// *os.File source and a *net.TCPConn destination it is sendfile, the
// other way round splice. progress, if set, is told the running total.
//
// The chunk size adapts: it doubles while chunks take well under idle (a
// fast link moves tens of MiB per call) and halves when one comes close,
// so a slow but moving link (down to about minChunk/idle bytes per second)
// is never cut by the deadline.
//
// With n < 0 and limit > 0, a source that goes on past limit bytes fails
// with errTooBig after limit+1 bytes.
func copyChunks(dst io.Writer, src io.Reader, n, limit int64, setDeadline func(time.Time) error, idle time.Duration, progress func(int64)) (int64, error) {
	var done int64
	chunk := int64(minChunk)
	for n < 0 || done < n {
		want := chunk
		if n >= 0 {
			want = min(want, n-done)
		} else if limit > 0 {
			if done > limit {
				return done, errTooBig
			}
			want = min(want, limit+1-done)
		}
		start := time.Now()
		if err := setDeadline(start.Add(idle)); err != nil {
			return done, err
		}
		m, err := io.CopyN(dst, src, want)
		switch took := time.Since(start); {
		case took < idle/16:
			chunk = min(2*chunk, maxChunk)
		case took > idle/4:
			chunk = max(chunk/2, minChunk)
		}
		done += m
		if progress != nil && m > 0 {
			progress(done)
		}
		if err != nil {
			if n < 0 && errors.Is(err, io.EOF) {
				return done, nil
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
	}
	return done, nil
}
