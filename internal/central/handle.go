package central

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"p2p/internal/directory"
	"p2p/internal/rpclog"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// readers recycles the per-connection request buffers (writers, in
// reply.go, the reply buffers).
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// serveConn serves one connection: one request, one reply, close (§2).
// The listener closes conn when serveConn returns.
func (s *Server) serveConn(conn net.Conn) {
	// The listener has seen the first bytes; from them on the deadline
	// covers the whole request: a peer that sends slowly holds its slot
	// for at most ReadTimeout.
	conn.SetDeadline(time.Now().Add(s.cfg.ReadTimeout))

	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	req, err := wire.ReadRequest(br)
	br.Reset(nil)
	readers.Put(br)

	var r reply
	switch {
	case errors.Is(err, wire.ErrInvalidField):
		// A field without NUL: the request was read whole, so it gets its
		// operation's last code, but it did not parse: no line, no log.
		r.status = wire.StatusFor(req.Op, wire.Failed)
	case err != nil:
		return // unknown cop, bad cop, truncated, timeout: no reply
	default:
		s.console.line("s> OPERATION FROM " + show.Value(req.Username))
		r = s.answer(req, peerIP(conn))
	}
	if !r.none {
		conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		bw := writers.Get().(*bufio.Writer)
		bw.Reset(conn)
		_ = r.writeTo(bw) // an error: the client went away; nothing to tell it
		bw.Reset(nil)
		writers.Put(bw)
	}
	if r.release != nil {
		r.release()
	}
	if err == nil {
		entry := rpclog.Entry{Username: req.Username, Operation: string(req.Op), DateTime: req.DateTime}
		if wire.LogsFilename(req.Op) {
			entry.Filename = req.Filename
		}
		s.cfg.OpLog.Log(entry)
	}
}

// answer asks the directory and returns the reply to send. A failure that
// is not one of §2's outcomes has been reported by the directory. A list
// takes its share of the reply budget first: a list that cannot get it
// before the request's deadline gets the operation's last code.
func (s *Server) answer(req wire.Request, ip string) reply {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StoreTimeout)
	defer cancel()
	d := s.directory
	var err error
	switch req.Op {
	case wire.Register:
		err = d.Register(ctx, req.Username)
	case wire.Unregister:
		err = d.Unregister(ctx, req.Username)
	case wire.Connect:
		if ip == "" {
			err = directory.ErrInvalid
		} else {
			err = d.Connect(ctx, req.Username, ip, req.Port)
		}
	case wire.Disconnect:
		err = d.Disconnect(ctx, req.Username)
	case wire.Publish:
		err = d.Publish(ctx, req.Username, req.Filename, req.Description)
	case wire.Delete:
		err = d.Delete(ctx, req.Username, req.Filename)
	case wire.ListUsers:
		var recs []wire.UserRecord
		if recs, err = d.ListUsers(ctx, req.Username); err == nil {
			var r reply
			if r, err = listReply(ctx, s, reply{list: usersList, users: recs}, recs, encodable(recs), wire.UserRecordSize); err == nil {
				return r
			}
		}
	case wire.ListContent:
		var recs []wire.FileRecord
		if recs, err = d.ListContent(ctx, req.Username, req.Remote); err == nil {
			var r reply
			if r, err = listReply(ctx, s, reply{list: filesList, files: recs}, recs, encodable(recs), wire.FileRecordSize); err == nil {
				return r
			}
		}
	case wire.Search:
		var recs []wire.SearchRecord
		if recs, err = d.Search(ctx, req.Username, req.Words); err == nil {
			var r reply
			if r, err = listReply(ctx, s, reply{list: matchesList, matches: recs}, recs, encodable(recs), wire.SearchRecordSize); err == nil {
				return r
			}
		}
	default:
		err = directory.ErrInvalid
	}
	if errors.Is(err, directory.ErrOutcomeUnknown) {
		// Neither OK nor a FAIL code would be true: no reply, as after a
		// crash.
		return reply{none: true}
	}
	return reply{status: wire.StatusFor(req.Op, directory.OutcomeOf(err))}
}

// listReply is r, the '0' reply carrying the list recs (each size bytes
// on the wire), once every record is encodable and the list holds its
// share of the reply budget.
func listReply[T any](ctx context.Context, s *Server, r reply, recs []T, encodable bool, size int) (reply, error) {
	if !encodable {
		return reply{}, directory.ErrInvalid
	}
	r.status = wire.StatusOK
	if len(recs) == 0 {
		return r, nil
	}
	release, ok := s.budget.acquire(ctx, listKey{&recs[0], len(recs)}, int64(len(recs)*size))
	if !ok {
		return reply{}, errNoBudget
	}
	r.release = release
	return r, nil
}

// errNoBudget is a list that could not get its share of the reply budget
// before its deadline.
var errNoBudget = errors.New("central: reply budget exhausted")

// peerIP is the dotted IPv4 address the request came from (getpeername),
// or "" when there is none that fits the ip field.
func peerIP(conn net.Conn) string {
	a, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return ""
}
