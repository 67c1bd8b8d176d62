package directory

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"p2p/internal/logging"
	"p2p/internal/wire"
)

// MaxUsernameLen is the longest username the directory accepts, so that
// "<username>.csv" fits the 255-byte limit on a file name (§4). The rule
// holds for every store, so that one directory can move between them.
const MaxUsernameLen = 251

// SafeName reports whether a username can become a file name (§4): not
// empty, not "." or "..", no '/', '\\' or control byte (below 0x20, or
// 0x7f), at most MaxUsernameLen bytes.
func SafeName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > MaxUsernameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidValue reports whether s fits a filename or description field (§1):
// at most wire.MaxValueLen bytes, no NUL.
func ValidValue(s string) bool {
	return len(s) <= wire.MaxValueLen && !strings.ContainsRune(s, 0)
}

// ValidIP reports whether s fits the ip field of a record.
func ValidIP(s string) bool {
	return s != "" && len(s) <= wire.IPSize-1 && !strings.ContainsRune(s, 0)
}

// Options configure a Directory.
type Options struct {
	// MaxFiles caps the files one user may publish (0: no cap). A PUBLISH
	// beyond it gets ErrTooManyFiles.
	MaxFiles int
	// Log gets one warning when the store starts failing (with the
	// cause) and one note when it works again: one pair per outage, not
	// one line per failed request. Nil: no output.
	Log *slog.Logger
}

// Directory applies the protocol's rules above a Store: it refuses invalid
// fields before the store is asked, turns the store's Facts into the
// outcome of §2 in the order of the columns, and reports the store's
// failures once per outage. Its methods return nil, a sentinel error of
// this package, or the store's error (the last code).
type Directory struct {
	store Store
	opts  Options

	failing  atomic.Bool // the last store call failed: say so once
	mu       sync.Mutex  // orders the failing/recovered lines
	lastFail time.Time   // the latest failure, under mu
}

// New returns the Directory over store. The caller keeps ownership of the
// store (and closes it).
func New(store Store, opts Options) *Directory {
	if opts.Log == nil {
		opts.Log = logging.Discard()
	}
	return &Directory{store: store, opts: opts}
}

// requester is the check every operation but REGISTER and UNREGISTER
// starts with: registered, then connected.
func requester(f Facts) error {
	switch {
	case !f.Registered:
		return ErrUserNotFound
	case !f.Connected:
		return ErrNotConnected
	}
	return nil
}

// Register adds user (ErrUserInUse when taken).
func (d *Directory) Register(ctx context.Context, user string) error {
	if !SafeName(user) {
		return ErrInvalid
	}
	f, err := d.store.Register(ctx, user)
	if err := d.result(wire.Register, err); err != nil {
		return err
	}
	if f.Registered {
		return ErrUserInUse
	}
	return nil
}

// Unregister removes user, with its connection and published list.
func (d *Directory) Unregister(ctx context.Context, user string) error {
	if !SafeName(user) {
		return ErrInvalid
	}
	f, err := d.store.Unregister(ctx, user)
	if err := d.result(wire.Unregister, err); err != nil {
		return err
	}
	if !f.Registered {
		return ErrUserNotFound
	}
	return nil
}

// Connect records user's GET_FILE address and starts its empty list. Every
// invalid field gets the last code before the user is checked (§2: "an
// invalid field" is the last column's failure, whatever else holds).
func (d *Directory) Connect(ctx context.Context, user, ip, port string) error {
	if !SafeName(user) || !ValidIP(ip) || !wire.ValidPort(port) {
		return ErrInvalid
	}
	f, err := d.store.Connect(ctx, user, ip, port)
	if err := d.result(wire.Connect, err); err != nil {
		return err
	}
	switch {
	case !f.Registered:
		return ErrUserNotFound
	case f.Connected:
		return ErrAlreadyConnected
	}
	return nil
}

// Disconnect removes user's connection and published list.
func (d *Directory) Disconnect(ctx context.Context, user string) error {
	if !SafeName(user) {
		return ErrInvalid
	}
	f, err := d.store.Disconnect(ctx, user)
	if err := d.result(wire.Disconnect, err); err != nil {
		return err
	}
	return requester(f)
}

// Publish appends filename to user's list.
func (d *Directory) Publish(ctx context.Context, user, filename, description string) error {
	if !SafeName(user) || !ValidValue(filename) || !ValidValue(description) {
		return ErrInvalid
	}
	f, err := d.store.Publish(ctx, user, filename, description, d.opts.MaxFiles)
	if err := d.result(wire.Publish, err); err != nil {
		return err
	}
	if err := requester(f); err != nil {
		return err
	}
	switch {
	case f.Listed:
		return ErrAlreadyPublished
	case f.Full:
		return ErrTooManyFiles
	}
	return nil
}

// Delete removes filename from user's list.
func (d *Directory) Delete(ctx context.Context, user, filename string) error {
	if !SafeName(user) || !ValidValue(filename) {
		return ErrInvalid
	}
	f, err := d.store.Delete(ctx, user, filename)
	if err := d.result(wire.Delete, err); err != nil {
		return err
	}
	if err := requester(f); err != nil {
		return err
	}
	if !f.Listed {
		return ErrNotPublished
	}
	return nil
}

// ListUsers returns every connected user, in the order they connected. The
// slice may be shared: it must not be modified.
func (d *Directory) ListUsers(ctx context.Context, user string) ([]wire.UserRecord, error) {
	if !SafeName(user) {
		return nil, ErrInvalid
	}
	f, recs, err := d.store.ListUsers(ctx, user)
	if err := d.result(wire.ListUsers, err); err != nil {
		return nil, err
	}
	if err := requester(f); err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []wire.UserRecord{}
	}
	return recs, nil
}

// ListContent returns remote's list in publishing order: empty when
// remote is registered but not connected (content is listed only while
// its owner is online, §2). A remote name that cannot be a username is an
// invalid field, checked after the requester: the field itself is well
// formed, and no such user can be registered.
func (d *Directory) ListContent(ctx context.Context, user, remote string) ([]wire.FileRecord, error) {
	if !SafeName(user) {
		return nil, ErrInvalid
	}
	f, recs, err := d.store.ListContent(ctx, user, remote)
	if err := d.result(wire.ListContent, err); err != nil {
		return nil, err
	}
	if err := requester(f); err != nil {
		return nil, err
	}
	if !SafeName(remote) {
		return nil, ErrInvalid
	}
	if !f.RemoteRegistered {
		return nil, ErrRemoteNotFound
	}
	if !f.RemoteConnected || recs == nil {
		recs = []wire.FileRecord{}
	}
	return recs, nil
}

// Search returns the published files of connected users that match the
// query field words (§2, "SEARCH (extension)"): each holds every word of
// words, in LIST_USERS order of their owners and each owner's publishing
// order, at most MaxSearchResults of them. A field with no word in it is
// an invalid field (the last code), refused before the requester is
// checked, like every other invalid field.
func (d *Directory) Search(ctx context.Context, user, words string) ([]wire.SearchRecord, error) {
	if !SafeName(user) || !ValidValue(words) {
		return nil, ErrInvalid
	}
	q := Words(words)
	if len(q) == 0 {
		return nil, ErrInvalid
	}
	f, recs, err := d.store.Search(ctx, user, q, MaxSearchResults)
	if err := d.result(wire.Search, err); err != nil {
		return nil, err
	}
	if err := requester(f); err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []wire.SearchRecord{}
	}
	return recs[:min(len(recs), MaxSearchResults)], nil
}

// result passes a store's error on, reporting the first of an outage
// with its cause, and the first success after one.
func (d *Directory) result(op wire.Op, err error) error {
	if err == nil {
		if d.failing.Load() {
			d.recovered()
		}
		return nil
	}
	d.mu.Lock()
	d.lastFail = time.Now()
	if !d.failing.Load() {
		d.opts.Log.Warn(fmt.Sprintf("directory: %s: %v (requests get their last code until the store works again)", op, err))
		d.failing.Store(true)
	}
	d.mu.Unlock()
	return err
}

// recovered notes a success during an outage. A store that is going down
// (or coming back) answers some requests between failures, so only a
// success recoverQuiet or more after the last failure ends the outage: a
// request in flight when the database died does not. (No timer stands in
// for that success: without a request, nothing shows the store works.)
func (d *Directory) recovered() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing.Load() && time.Since(d.lastFail) >= recoverQuiet {
		d.opts.Log.Info("directory: the store works again")
		d.failing.Store(false)
	}
}

// recoverQuiet is how long a failing store must go without a failure
// before its outage is reported over: longer than a database's requests
// take to fail one after another while it shuts down (a few ms), shorter
// than it takes to start again.
const recoverQuiet = 50 * time.Millisecond
