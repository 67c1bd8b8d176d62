package shell

import (
	"context"
	"fmt"
	"io"

	"p2p/internal/peer"
	"p2p/internal/show"
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
	if cfg.Logf == nil {
		cfg.Logf = func(format string, args ...any) { s.out.errline("peer: " + fmt.Sprintf(format, args...)) }
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
	users, ok := s.fetchUsers(ctx, dt, true)
	if ok {
		for _, u := range users {
			s.out.line("\t" + show.Value(u.Username) + " " + show.Value(u.IP) + " " + show.Value(u.Port))
		}
	}
}

// fetchUsers sends LIST_USERS and, on OK, rewrites listusers-<user>.json.
// With show, it prints the result line (the refresh of GET_FILE does not).
func (s *Shell) fetchUsers(ctx context.Context, dt string, show bool) ([]wire.UserRecord, bool) {
	u := s.User()
	var users []wire.UserRecord
	req := wire.Request{Op: wire.ListUsers, DateTime: dt, Username: u}
	read := func(r io.Reader) (err error) {
		users, err = wire.ReadUserList(r)
		return err
	}
	var st wire.Status
	if show {
		var ok bool
		if st, ok = s.send(ctx, req, read); !ok {
			return nil, false
		}
	} else {
		var err error
		if st, err = s.exchange(ctx, req, read); err != nil {
			s.out.errline(fmt.Sprintf("GET_FILE: refreshing the user list: LIST_USERS: %v", err))
			return nil, false
		}
		if st != wire.StatusOK {
			s.out.errline("GET_FILE: refreshing the user list: " + wire.Line(wire.ListUsers, st))
		}
	}
	if st != wire.StatusOK {
		return nil, false
	}
	s.writeUsers(u, users)
	return users, true
}

func (s *Shell) listContent(ctx context.Context, args []string) {
	var files []wire.FileRecord
	st, ok := s.call(ctx, wire.Request{Op: wire.ListContent, Username: s.User(), Remote: args[0]}, func(r io.Reader) (err error) {
		files, err = wire.ReadFileList(r)
		return err
	})
	if ok && st == wire.StatusOK {
		for _, f := range files {
			s.out.line("\t" + show.Value(f.Filename) + " \"" + show.Value(f.Description) + "\"")
		}
	}
}
