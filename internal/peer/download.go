package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"p2p/internal/show"
	"p2p/internal/tempfile"
	"p2p/internal/wire"
)

// DownloadConfig tunes Download. Zero values take the defaults.
type DownloadConfig struct {
	DialTimeout time.Duration
	// IdleTimeout bounds the wait for the status, the size and each chunk.
	IdleTimeout time.Duration
	// Progress, when set, is called as bytes arrive with the running total
	// and the announced size (-1 for a plain GET_FILE, which has none).
	Progress func(done, total int64)
	// MaxSize bounds the file: a sized transfer announcing more fails
	// at once, before anything is written, and a plain one fails as soon
	// as it goes past. Zero means the space free on the destination's
	// filesystem when the transfer starts (a file that cannot fit is not
	// worth receiving); negative means no bound.
	MaxSize int64
	// Sync makes the file durable (fsync) before it gets its name. Off by
	// default: the rename already guarantees that a failed transfer
	// leaves no partial file, and an fsync of a large file costs more than
	// the transfer itself (see BenchmarkGetFile's ratio-with-fsync).
	Sync bool
}

// Result is what a download came to.
type Result struct {
	// Outcome is wire.OK, wire.FileNotFound or wire.Failed: the GET_FILE
	// line to print is wire.Line(wire.GetFile, wire.StatusFor(wire.GetFile, Outcome)).
	Outcome wire.Outcome
	// Bytes is the size of the file written (on OK).
	Bytes int64
	// Sized tells whether the peer answered GET_FILE_SIZED (false: the
	// plain GET_FILE fallback was used).
	Sized bool
}

// ErrRefused is wrapped by Download's error when nothing listens at the
// peer's address (the peer is gone or moved): the caller may refresh the
// address and try again.
var ErrRefused = errors.New("connection refused")

// Download fetches the file remote from the peer at addr (ip:port) into
// local. It asks with GET_FILE_SIZED and falls back once to plain GET_FILE
// when the peer answers anything but '0' or closes without a status (§3).
// The bytes go to a temporary file beside local that is renamed only when
// the transfer ends well: on any failure no file is left and an existing
// local file is untouched. The error, when not nil, says why in words for
// a person; Result.Outcome is always set.
func Download(ctx context.Context, addr, remote, local string, cfg DownloadConfig) (Result, error) {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	d := &downloader{ctx: ctx, addr: addr, remote: remote, local: local, cfg: cfg}
	res, err := d.try(wire.GetFileSized)
	if res.Outcome == wire.OK || errors.Is(err, ErrRefused) || ctx.Err() != nil || d.started {
		return res, err
	}
	return d.try(wire.GetFile)
}

type downloader struct {
	ctx                 context.Context
	addr, remote, local string
	cfg                 DownloadConfig
	started             bool  // a status '0' came: no fallback after that
	free                int64 // the free space at the destination; 0: not measured yet, -1: unknown
}

func fail(format string, args ...any) (Result, error) {
	return Result{Outcome: wire.Failed}, fmt.Errorf(format, args...)
}

// try runs one request with op.
func (d *downloader) try(op wire.Op) (Result, error) {
	req, err := wire.AppendPeerRequest(nil, op, d.remote)
	if err != nil {
		return fail("GET_FILE %s: %v", show.Quoted(d.remote), err)
	}
	dialer := net.Dialer{Timeout: d.cfg.DialTimeout}
	nc, err := dialer.DialContext(d.ctx, "tcp4", d.addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fail("peer %s: %w", d.addr, ErrRefused)
		}
		return fail("peer %s: %v", d.addr, err)
	}
	c := nc.(*net.TCPConn)
	defer c.Close()
	// Cancelling ctx aborts a transfer at once (deadlines cover the rest).
	dl := newCancelDeadlines(d.ctx, c)
	defer dl.Stop()

	if err := dl.SetWriteDeadline(time.Now().Add(d.cfg.IdleTimeout)); err != nil {
		return fail("peer %s: %w", d.addr, err)
	}
	if _, err := c.Write(req); err != nil {
		return fail("peer %s: sending the request: %v", d.addr, err)
	}
	if err := dl.SetReadDeadline(time.Now().Add(d.cfg.IdleTimeout)); err != nil {
		return fail("peer %s: %w", d.addr, err)
	}
	st, err := wire.ReadStatus(c)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fail("peer %s closed without answering %s", d.addr, op)
		}
		return fail("peer %s: reading the status: %v", d.addr, err)
	}
	if st != wire.StatusOK {
		o, ok := wire.OutcomeOf(op, st)
		if !ok {
			o = wire.Failed
		}
		return Result{Outcome: o}, fmt.Errorf("peer %s answered %s %s with status %d", d.addr, op, show.Quoted(d.remote), st)
	}
	d.started = true
	size := int64(-1)
	if op == wire.GetFileSized {
		n, err := wire.ReadSize(c)
		if err != nil {
			return fail("peer %s: reading the size: %v", d.addr, err)
		}
		if n > 1<<62 {
			return fail("peer %s announced an impossible size %d", d.addr, n)
		}
		size = int64(n)
		if limit := d.maxSize(); limit >= 0 && size > limit {
			return fail("peer %s announced %d bytes for %s, more than the %d a download may have here (MaxSize, by default the free space)", d.addr, size, show.Quoted(d.remote), limit)
		}
	}
	n, err := d.receive(c, dl, size)
	if err != nil {
		if d.ctx.Err() != nil {
			err = d.ctx.Err()
		}
		return fail("GET_FILE %s from %s: %w", show.Quoted(d.remote), d.addr, err)
	}
	return Result{Outcome: wire.OK, Bytes: n, Sized: size >= 0}, nil
}

// receive streams size bytes (size < 0: up to the peer's close) into a
// temporary file and renames it to local when all is well.
func (d *downloader) receive(c *net.TCPConn, dl *cancelDeadlines, size int64) (int64, error) {
	tmp, err := createTemp(d.local)
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var progress func(int64)
	if d.cfg.Progress != nil {
		progress = func(n int64) { d.cfg.Progress(n, size) }
	}
	limit := int64(0)
	if size < 0 {
		limit = d.maxSize()
	}
	n, err := copyChunks(tmp, c, size, limit, dl.SetReadDeadline, d.cfg.IdleTimeout, progress)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the peer closed after %d of %d bytes", n, size)
		}
		if errors.Is(err, errTooBig) {
			err = fmt.Errorf("the peer sent more than the %d bytes a download may have here (MaxSize, by default the free space)", limit)
		}
		return n, err
	}
	if size >= 0 {
		// Exactly size bytes, then the close: anything more is a
		// peer that does not follow §3.
		if err := dl.SetReadDeadline(time.Now().Add(d.cfg.IdleTimeout)); err != nil {
			return n, err
		}
		var one [1]byte
		if m, err := c.Read(one[:]); m > 0 || !errors.Is(err, io.EOF) {
			if m > 0 {
				return n, fmt.Errorf("the peer sent more than the %d bytes it announced", size)
			}
			return n, fmt.Errorf("after the %d bytes: %v", size, err)
		}
	}
	if d.cfg.Sync {
		if err := tmp.Sync(); err != nil {
			return n, err
		}
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), d.local); err != nil {
		return n, err
	}
	ok = true
	return n, nil
}

// maxSize is the bound on the file (DownloadConfig.MaxSize); -1 for none.
// The free space is measured once per download.
func (d *downloader) maxSize() int64 {
	if d.cfg.MaxSize != 0 {
		return max(d.cfg.MaxSize, -1)
	}
	if d.free == 0 {
		d.free = -1
		var st syscall.Statfs_t
		if err := syscall.Statfs(filepath.Dir(d.local), &st); err == nil {
			d.free = int64(st.Bavail) * st.Bsize
		}
	}
	return d.free
}

// createTemp creates the temporary file beside local, readable like a file
// the user would create, named and locked by package tempfile so that a
// client that crashed mid-transfer has it removed by the next one to start
// in that folder. Its name fits the 255-byte limit on a file name,
// whatever local's length.
func createTemp(local string) (*os.File, error) {
	dir, base := filepath.Split(local)
	if dir == "" {
		dir = "."
	}
	return tempfile.Create(dir, base)
}
