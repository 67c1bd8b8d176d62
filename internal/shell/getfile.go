package shell

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"p2p/internal/peer"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// getFile runs GET_FILE <username> <remote_filename> <local_filename>: the
// peer's address comes from listusers-<me>.json; when the user is missing
// there or its address refuses the connection, one LIST_USERS refreshes
// the file and the download is tried once more (§7).
func (s *Shell) getFile(ctx context.Context, args []string) {
	remoteUser, remote, local := args[0], args[1], args[2]
	dt, ok := s.datetime(ctx, wire.GetFile)
	if !ok {
		return
	}
	if !filepath.IsAbs(local) {
		local = filepath.Join(s.cfg.Dir, local)
	}
	addr, err := s.peerAddr(remoteUser)
	refreshed := false
	if err != nil {
		s.out.errline(fmt.Sprintf("GET_FILE: %v; asking the central server", err))
		if addr, err = s.refresh(ctx, dt, remoteUser); err != nil {
			s.fail(err)
			return
		}
		refreshed = true
	}
	res, err := s.download(ctx, addr, remote, local)
	if errors.Is(err, peer.ErrRefused) && !refreshed {
		s.out.errline(fmt.Sprintf("GET_FILE: %v; asking the central server for %s's address", err, remoteUser))
		if addr, err = s.refresh(ctx, dt, remoteUser); err != nil {
			s.fail(err)
			return
		}
		res, err = s.download(ctx, addr, remote, local)
	}
	if err != nil {
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != nil {
			err = fmt.Errorf("%v: the transfer is cancelled; no file was written", cause)
		}
		s.out.errline("GET_FILE: " + err.Error())
	}
	s.out.line(wire.Line(wire.GetFile, wire.StatusFor(wire.GetFile, res.Outcome)))
}

func (s *Shell) fail(err error) {
	s.out.errline("GET_FILE: " + err.Error())
	s.out.line(wire.FailLine(wire.GetFile))
}

// peerAddr finds user's ip:port in listusers-<me>.json.
func (s *Shell) peerAddr(user string) (string, error) {
	u, err := s.findUser(s.User(), user)
	if err != nil {
		return "", fmt.Errorf("no usable user list (%v)", err)
	}
	if u == nil {
		return "", fmt.Errorf("%s is not in listusers-%s.json", show.Quoted(user), show.Value(s.User()))
	}
	return net.JoinHostPort(u.IP, u.Port), nil
}

// refresh runs the LIST_USERS of GET_FILE (with the command's datetime) and
// looks user up in the new list.
func (s *Shell) refresh(ctx context.Context, dt, user string) (string, error) {
	addr, ok := s.fetchUsers(ctx, dt, false, user)
	if !ok {
		return "", errors.New("the user list could not be refreshed")
	}
	if addr == "" {
		return "", fmt.Errorf("%s is not connected", show.Quoted(user))
	}
	return addr, nil
}

// download runs peer.Download with the progress line when asked for.
func (s *Shell) download(ctx context.Context, addr, remote, local string) (peer.Result, error) {
	cfg := s.cfg.Download
	var p *progress
	if s.cfg.Progress && cfg.Progress == nil {
		p = newProgress(s.out, time.Now)
		cfg.Progress = p.update
	}
	res, err := peer.Download(ctx, addr, remote, local, cfg)
	if p != nil {
		p.done()
	}
	return res, err
}
