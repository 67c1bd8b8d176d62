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

// maxPooledReply is the largest reply buffer kept for reuse.
const maxPooledReply = 64 << 10

// readers and replies recycle the per-connection buffers.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}
	replies = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
)

// handle serves one connection: one request, one reply, close (§2).
func (s *Server) handle(conn net.Conn) {
	defer func() {
		conn.Close()
		<-s.sem
		s.wg.Done()
	}()
	// The deadline covers the whole request: a peer that sends nothing, or
	// sends slowly, holds its slot for at most ReadTimeout.
	conn.SetDeadline(time.Now().Add(s.cfg.ReadTimeout))
	if !s.track(conn) {
		return
	}
	defer s.untrack(conn)

	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	req, err := wire.ReadRequest(br)
	br.Reset(nil)
	readers.Put(br)

	bp := replies.Get().(*[]byte)
	reply := (*bp)[:0]
	defer func() {
		// A list of many thousands of users is megabytes: let such a
		// buffer go rather than keep it pooled for every later request.
		if cap(*bp) <= maxPooledReply {
			replies.Put(bp)
		}
	}()
	switch {
	case errors.Is(err, wire.ErrInvalidField):
		// A field without NUL: the request was read whole, so it gets its
		// operation's last code, but it did not parse: no line, no log.
		reply = wire.AppendStatus(reply, wire.StatusFor(req.Op, wire.Failed))
	case err != nil:
		return // unknown cop, bad cop, truncated, timeout: no reply
	default:
		s.console.line("s> OPERATION FROM " + show.Value(req.Username))
		reply = s.answer(reply, req, peerIP(conn))
	}
	conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, werr := conn.Write(reply)
	*bp = reply
	if err == nil {
		entry := rpclog.Entry{Username: req.Username, Operation: string(req.Op), DateTime: req.DateTime}
		if rpclog.HasFilename(entry.Operation) {
			entry.Filename = req.Filename
		}
		s.cfg.Logger.Log(entry)
	}
	_ = werr // the client went away; nothing to tell it
}

// answer asks the directory and appends the reply to buf. A failure that
// is not one of §2's outcomes has been reported by the directory.
func (s *Server) answer(buf []byte, req wire.Request, ip string) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StoreTimeout)
	defer cancel()
	d := s.dir
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
			if out, aerr := wire.AppendUserList(buf, recs); aerr == nil {
				return out
			}
			err = directory.ErrInvalid
		}
	case wire.ListContent:
		var recs []wire.FileRecord
		if recs, err = d.ListContent(ctx, req.Username, req.Remote); err == nil {
			if out, aerr := wire.AppendFileList(buf, recs); aerr == nil {
				return out
			}
			err = directory.ErrInvalid
		}
	case wire.Search:
		var recs []wire.SearchRecord
		if recs, err = d.Search(ctx, req.Username, req.Words); err == nil {
			if out, aerr := wire.AppendSearchList(buf, recs); aerr == nil {
				return out
			}
			err = directory.ErrInvalid
		}
	default:
		err = directory.ErrInvalid
	}
	return wire.AppendStatus(buf, wire.StatusFor(req.Op, directory.OutcomeOf(err)))
}

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
