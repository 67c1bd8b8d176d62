package shell

import (
	"context"
	"fmt"
	"io"

	"p2p/internal/show"
	"p2p/internal/wire"
)

// datetime asks the web service for the datetime of op's request and prints
// it. When the service cannot be reached it prints "<OP> FAIL" (the reason
// on stderr) and reports false: nothing is to be sent then.
func (s *Shell) datetime(ctx context.Context, op wire.Op) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	dt, err := s.cfg.Clock.Now(ctx)
	if err == nil && (len(dt) > wire.DateTimeSize-1 || dt == "") {
		err = fmt.Errorf("the web service answered %s, which is no datetime", show.Quoted(dt))
	}
	if err != nil {
		s.out.errline(fmt.Sprintf("%s: %v (nothing sent)", op, err))
		s.out.line(wire.FailLine(op))
		return "", false
	}
	s.out.line(show.Value(dt))
	return dt, true
}

// exchange sends req to the central server on a connection of its own and
// reads the status; when it is '0' and read is set, read takes the rest of
// the reply. No wait for the server lasts longer than the Timeout, but a
// long list that keeps coming is read whole; cancelling ctx cuts the
// exchange at once.
func (s *Shell) exchange(ctx context.Context, req wire.Request, read func(r io.Reader) error) (wire.Status, error) {
	c := wire.Client{Timeout: s.cfg.Timeout, Idle: true, ReadBuffer: 64 << 10}
	return c.Do(ctx, s.cfg.Server, req, read)
}

// call runs one request of §2 from start to end: the datetime line, the
// exchange, and the result line (or "<OP> FAIL" with the reason on stderr).
// It reports the status, and ok false when no status came.
func (s *Shell) call(ctx context.Context, req wire.Request, read func(r io.Reader) error) (st wire.Status, ok bool) {
	dt, ok := s.datetime(ctx, req.Op)
	if !ok {
		return 0, false
	}
	req.DateTime = dt
	return s.send(ctx, req, read)
}

// send is call without the datetime: the exchange and the result line.
func (s *Shell) send(ctx context.Context, req wire.Request, read func(r io.Reader) error) (wire.Status, bool) {
	st, err := s.exchange(ctx, req, read)
	if err != nil {
		s.out.errline(fmt.Sprintf("%s: %v", req.Op, err))
		s.out.line(wire.FailLine(req.Op))
		return 0, false
	}
	s.out.line(wire.Line(req.Op, st))
	return st, true
}
