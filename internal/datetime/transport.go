package datetime

import (
	"errors"
	"io"
	"net/http"
)

// keepAlive adapts an http.Client for the generated code. gowsdl v0.5.0 sets
// req.Close on every request, which would open and close a TCP connection
// per call even with a shared client; keepAlive clears it and marks the
// call as safe to retry. It also bounds
// the answer and drains it on Close, since the generated code stops reading
// at the end of the envelope and a body not read to its end is not reused.
type keepAlive struct{ c *http.Client }

func (k keepAlive) Do(req *http.Request) (*http.Response, error) {
	req.Close = false
	// datetime has no side effect, so the request may be sent again when
	// a kept-alive connection turns out to have been closed by the server
	// just as it was reused. net/http retries a POST only when told so by
	// this header; an empty value is not sent on the wire.
	req.Header["Idempotency-Key"] = nil
	resp, err := k.c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{rc: resp.Body}
	return resp, nil
}

// errResponseTooLarge is returned by a read past maxResponseBytes.
var errResponseTooLarge = errors.New("answer larger than 64 KiB")

type boundedBody struct {
	rc io.ReadCloser
	n  int64 // bytes read so far
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.n > maxResponseBytes {
		return 0, errResponseTooLarge
	}
	if room := maxResponseBytes + 1 - b.n; int64(len(p)) > room {
		p = p[:room] // one byte past the bound is enough to tell
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > maxResponseBytes {
		return n, errResponseTooLarge
	}
	return n, err
}

// Close reads what is left (within the bound) so the connection can be
// reused, then closes.
func (b *boundedBody) Close() error {
	if b.n <= maxResponseBytes {
		io.Copy(io.Discard, io.LimitReader(b.rc, maxResponseBytes+1-b.n))
	}
	return b.rc.Close()
}
