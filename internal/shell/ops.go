package shell

import (
	"context"
	"fmt"
	"io"
	"net"

	"p2p/internal/logging"
	"p2p/internal/peer"
	"p2p/internal/wire"
)

func (s *Shell) register(ctx context.Context, args []string) {
	s.named = args[0]
	s.call(ctx, wire.Request{Op: wire.Register, Username: args[0]}, nil)
}

func (s *Shell) unregister(ctx context.Context, args []string) {
	u := args[0]
	s.named = u
	st, ok := s.call(ctx, wire.Request{Op: wire.Unregister, Username: u}, nil)
	if ok && st == wire.StatusOK {
		// The server dropped the connection and the list with the user.
		s.disconnected(u)
	}
}

// connect opens a GET_FILE listener for u and sends its port (§7); a user
// this client is already connected as keeps its listener. A client may be
// connected as several users at once, each with its own listener serving
// its own list; requests carry the last one connected.
func (s *Shell) connect(ctx context.Context, args []string) {
	u := args[0]
	s.named = u
	dt, ok := s.datetime(ctx, wire.Connect)
	if !ok {
		return
	}
	c := s.sessionOf(u)
	opened := c == nil
	if opened {
		files := peer.NewCatalog(s.cfg.Dir)
		ln, err := peer.Listen(s.cfg.ListenAddr, files, s.serveConfig())
		if err != nil {
			s.out.errline(fmt.Sprintf("CONNECT: %v (nothing sent)", err))
			s.out.line(wire.FailLine(wire.Connect))
			return
		}
		c = &session{user: u, ln: ln, files: files}
	}
	st, ok := s.send(ctx, wire.Request{Op: wire.Connect, DateTime: dt, Username: u, Port: fmt.Sprint(c.ln.Port())}, nil)
	switch {
	case ok && st == wire.StatusOK:
		s.connectedAs(c)
		s.writePublished(u, nil)
	case opened:
		c.ln.Close() // CONNECT failed: the listener opened for it goes
	}
}

func (s *Shell) serveConfig() peer.ServerConfig {
	cfg := s.cfg.Serve
	if cfg.Log == nil {
		cfg.Log = logging.New(errWriter{s.out}, "peer")
	}
	return cfg
}

func (s *Shell) disconnect(ctx context.Context, args []string) {
	u := args[0]
	s.named = u
	st, ok := s.call(ctx, wire.Request{Op: wire.Disconnect, Username: u}, nil)
	if !ok {
		return
	}
	if st == wire.StatusOK {
		s.writePublished(u, nil)
	}
	if s.sessionOf(u) != nil {
		if o, _ := wire.OutcomeOf(wire.Disconnect, st); o == wire.OK || o == wire.UserNotFound || o == wire.NotConnected {
			// The server no longer counts u as connected here.
			s.disconnected(u)
		}
	}
}

func (s *Shell) publish(ctx context.Context, args []string) {
	u, f := s.User(), wire.FileRecord{Filename: args[0], Description: args[1]}
	st, ok := s.call(ctx, wire.Request{Op: wire.Publish, Username: u, Filename: f.Filename, Description: f.Description}, nil)
	if !ok || st != wire.StatusOK {
		return
	}
	if c := s.sessionOf(u); c != nil {
		c.files.Add(f)
		s.writePublished(u, c.files.Files())
		return
	}
	s.writePublished(u, appendFile(s.readPublished(u), f))
}

func (s *Shell) delete(ctx context.Context, args []string) {
	u, name := s.User(), args[0]
	st, ok := s.call(ctx, wire.Request{Op: wire.Delete, Username: u, Filename: name}, nil)
	if !ok || st != wire.StatusOK {
		return
	}
	if c := s.sessionOf(u); c != nil {
		c.files.Remove(name)
		s.writePublished(u, c.files.Files())
		return
	}
	s.writePublished(u, removeFile(s.readPublished(u), name))
}

func (s *Shell) listUsers(ctx context.Context, _ []string) {
	dt, ok := s.datetime(ctx, wire.ListUsers)
	if !ok {
		return
	}
	s.fetchUsers(ctx, dt, true, "")
}

// fetchUsers sends LIST_USERS and, on OK, rewrites listusers-<user>.json
// and returns the address of the user want ("" when not listed). With printList,
// it prints the result line and the list (the refresh of GET_FILE does
// not). The list is never held in memory: it is spooled as it arrives,
// then printed and written to the JSON file one record at a time.
func (s *Shell) fetchUsers(ctx context.Context, dt string, printList bool, want string) (addr string, ok bool) {
	u := s.User()
	var sp *spool
	defer func() { sp.close() }()
	req := wire.Request{Op: wire.ListUsers, DateTime: dt, Username: u}
	read := s.spoolInto(&sp, userList)
	var st wire.Status
	if printList {
		if st, ok = s.send(ctx, req, read); !ok {
			return "", false
		}
	} else {
		var err error
		if st, err = s.exchange(ctx, req, read); err != nil {
			s.out.errline(fmt.Sprintf("GET_FILE: refreshing the user list: LIST_USERS: %v", err))
			return "", false
		}
		if st != wire.StatusOK {
			s.out.errline("GET_FILE: refreshing the user list: " + wire.Line(wire.ListUsers, st))
		}
	}
	if st != wire.StatusOK {
		return "", false
	}
	// The server's answer stands even when the file cannot be written
	// (a warning); an unsafe name never becomes a file name.
	var j *jsonWriter
	if path, err := s.usersPath(u); err != nil {
		s.out.errline("warning: " + err.Error())
	} else {
		j = newJSONWriter(path)
	}
	var users nameList
	listed := s.printList(wire.ListUsers, sp, func(v []string, out *lineBatch) {
		users.add(v[0])
		if printList {
			out.record(false, v...)
		}
		if j != nil {
			j.object("Username", v[0], "IP address", v[1], "Port", v[2])
		}
		if addr == "" && want != "" && v[0] == want {
			addr = net.JoinHostPort(v[1], v[2])
		}
	})
	if !listed {
		if j != nil {
			j.abort()
		}
		return "", false
	}
	s.names.setUsers(&users)
	if j != nil {
		if err := j.commit(); err != nil {
			s.out.errline("warning: " + err.Error())
		}
	}
	return addr, true
}

// A listKind is how the records of one list reply are read: each is size
// bytes on the wire and fields values, which read decodes.
type listKind struct {
	fields, size int
	read         func(r io.Reader, buf []byte) ([]string, error)
}

// The list replies of §2: LIST_USERS, LIST_CONTENT and SEARCH.
var (
	userList = listKind{3, wire.UserRecordSize, func(r io.Reader, buf []byte) ([]string, error) {
		rec, err := wire.ReadUserRecord(r, buf)
		return []string{rec.Username, rec.IP, rec.Port}, err
	}}
	fileList = listKind{2, wire.FileRecordSize, func(r io.Reader, buf []byte) ([]string, error) {
		rec, err := wire.ReadFileRecord(r, buf)
		return []string{rec.Filename, rec.Description}, err
	}}
	searchList = listKind{3, wire.SearchRecordSize, func(r io.Reader, buf []byte) ([]string, error) {
		rec, err := wire.ReadSearchRecord(r, buf)
		return []string{rec.Username, rec.Filename, rec.Description}, err
	}}
)

// spoolInto returns the reader of a list reply of kind k (for call, send
// or exchange): it spools the list into *sp.
func (s *Shell) spoolInto(sp **spool, k listKind) func(io.Reader) error {
	return func(r io.Reader) (err error) {
		*sp, err = s.spoolList(r, k)
		return err
	}
}

// callList runs a list request (call) and, on OK, hands each record of
// the list to fn with the batch for its lines (printList). It reports
// whether the whole list was shown.
func (s *Shell) callList(ctx context.Context, req wire.Request, k listKind, fn func(v []string, out *lineBatch)) bool {
	var sp *spool
	defer func() { sp.close() }()
	st, ok := s.call(ctx, req, s.spoolInto(&sp, k))
	if !ok || st != wire.StatusOK {
		return false
	}
	return s.printList(req.Op, sp, fn)
}

// printList hands each record of sp, in order, to fn with a batch for the
// lines it prints. When the spool cannot be read back it reports why (for
// op) and false.
func (s *Shell) printList(op wire.Op, sp *spool, fn func(v []string, out *lineBatch)) bool {
	out := s.out.lines()
	err := sp.each(func(v []string) { fn(v, out) })
	out.flush()
	if err != nil {
		s.out.errline(string(op) + ": " + err.Error())
		return false
	}
	return true
}

// spoolList reads a list's count and records (of kind k) into a spool, so
// that a list of any length is read with bounded memory.
func (s *Shell) spoolList(r io.Reader, k listKind) (*spool, error) {
	n, err := wire.ReadListCount(r)
	if err != nil {
		return nil, err
	}
	sp, err := newSpool(s.cfg.Dir, k.fields)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, k.size)
	for i := range n {
		v, err := k.read(r, buf)
		if err == nil {
			err = sp.add(v...)
		}
		if err != nil {
			sp.close()
			return nil, fmt.Errorf("record %d of %d: %w", i+1, n, err)
		}
	}
	return sp, nil
}

func (s *Shell) listContent(ctx context.Context, args []string) {
	files := s.names.newFileBatch()
	req := wire.Request{Op: wire.ListContent, Username: s.User(), Remote: args[0]}
	if s.callList(ctx, req, fileList, func(v []string, out *lineBatch) {
		out.record(true, v...)
		files.add(args[0], v[0])
	}) {
		s.names.setFiles(args[0], files)
	}
}
