package peer

import (
	"context"
	"net"
	"sync"
	"time"
)

// cancelDeadlines ties a connection's deadlines to a context: once ctx is
// done every pending and later I/O fails at once. Renewing a deadline
// cannot undo the cancellation, which a bare SetDeadline racing with
// context.AfterFunc could.
type cancelDeadlines struct {
	ctx  context.Context
	c    net.Conn
	mu   sync.Mutex
	done bool
	stop func() bool
}

func newCancelDeadlines(ctx context.Context, c net.Conn) *cancelDeadlines {
	d := &cancelDeadlines{ctx: ctx, c: c}
	d.stop = context.AfterFunc(ctx, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.done = true
		c.SetDeadline(time.Unix(1, 0))
	})
	return d
}

func (d *cancelDeadlines) set(f func(time.Time) error, t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return d.ctx.Err()
	}
	return f(t)
}

// SetReadDeadline and SetWriteDeadline are the connection's, unless ctx is
// done.
func (d *cancelDeadlines) SetReadDeadline(t time.Time) error { return d.set(d.c.SetReadDeadline, t) }
func (d *cancelDeadlines) SetWriteDeadline(t time.Time) error {
	return d.set(d.c.SetWriteDeadline, t)
}

// Stop releases the watch on ctx.
func (d *cancelDeadlines) Stop() { d.stop() }
