// Package directory is the central server's state in the terms of
// PROTOCOL.md §2: who is registered, who is connected at which GET_FILE
// address, and what each connected user publishes.
//
// It has two halves. Store is what a backing store provides: atomic
// operations that report the Facts they decided on, and nothing of the
// protocol's rules. Directory wraps any Store and holds those rules once,
// for every store: which names and values are acceptable (§1, §4), the
// order of the checks (the columns of §2), and the sentinel error each
// outcome becomes. The stores live in packages of their own (csvstore, the
// embedded default; pgstore, PostgreSQL shared by several servers), and
// storetest is the conformance suite every store must pass.
package directory

import (
	"context"
	"errors"

	"p2p/internal/wire"
)

// Facts is what a store saw, at the one instant it decided an operation,
// about the users and the file the operation names. The rules turn Facts
// into the outcome, in the order of §2's columns; a store only decides
// whether the operation's precondition (given on each Store method) holds,
// and applies the change when it does, in the same atomic step.
type Facts struct {
	Registered bool // the requester is registered
	Connected  bool // the requester is connected
	Listed     bool // PUBLISH, DELETE: the filename is in the requester's list
	Full       bool // PUBLISH: the requester's list holds MaxFiles files already

	RemoteRegistered bool // LIST_CONTENT: the remote user is registered
	RemoteConnected  bool // LIST_CONTENT: the remote user is connected
}

// Store is a backing store of the directory. Every method is one atomic
// step: it reads the Facts, applies its change only when its precondition
// holds, and returns once that change is durable (a reply may follow at
// once: a crash after it loses nothing). A non-nil error means the store
// could not decide or could not make the change durable, and then the
// change did not happen: no state a later reader sees holds any part of it.
// There are two exceptions. An error wrapping ErrOutcomeUnknown: the
// store cannot tell whether the change happened (a CSV write whose undo
// failed too), and the request gets no reply. And a connection to a
// database lost during a commit: the outcome is then unknown too, but the
// error is a plain one and the request gets its last code, as §4 asks of
// an unreachable database (see pgstore). Facts describe the state before
// the change. Lists are in the orders of §2 and must not be
// modified by the caller: a store may share them between callers.
//
// Names reach a store already checked (SafeName, ValidValue, ValidIP);
// the context carries the request's deadline. Methods are safe for
// concurrent use.
type Store interface {
	// Register adds user. Precondition: !Registered.
	Register(ctx context.Context, user string) (Facts, error)
	// Unregister removes user, with its connection and published list.
	// Precondition: Registered.
	Unregister(ctx context.Context, user string) (Facts, error)
	// Connect records user's GET_FILE address (ip, port) as the newest
	// connection and starts user's empty list. Precondition: Registered
	// && !Connected.
	Connect(ctx context.Context, user, ip, port string) (Facts, error)
	// Disconnect removes user's connection and published list.
	// Precondition: Registered && Connected.
	Disconnect(ctx context.Context, user string) (Facts, error)
	// Publish appends (filename, description) to user's list.
	// Precondition: Registered && Connected && !Listed && !Full, where Full
	// means the list already holds maxFiles files (maxFiles <= 0: no cap).
	Publish(ctx context.Context, user, filename, description string, maxFiles int) (Facts, error)
	// Delete removes filename from user's list. Precondition: Registered
	// && Connected && Listed.
	Delete(ctx context.Context, user, filename string) (Facts, error)
	// ListUsers returns every connected user, in the order they connected,
	// when Registered && Connected (else nil).
	ListUsers(ctx context.Context, user string) (Facts, []wire.UserRecord, error)
	// ListContent returns remote's list in publishing order when
	// Registered && Connected && RemoteRegistered && RemoteConnected
	// (else nil).
	ListContent(ctx context.Context, user, remote string) (Facts, []wire.FileRecord, error)
	// Search returns, when Registered && Connected (else nil), the
	// published files of connected users that hold every one of words,
	// in §2's order (owners in the order they connected, each owner's
	// files in publishing order, user's own included), at most limit of
	// them: the first ones in that order. A file holds a word when Words
	// of its filename and description includes it. words come already
	// split, folded and deduplicated by Words, and are never empty. The
	// answer reads one state: no change is half seen, and none a crash
	// could undo.
	Search(ctx context.Context, user string, words []string, limit int) (Facts, []wire.SearchRecord, error)
	// Close releases the store; calls after Close return errors.
	Close() error
}

// The sentinel errors of §2's outcomes, one per distinct client line. The
// table outcomes maps each to its wire.Outcome; any other error a
// Directory method returns is a failure of the store (the last code).
var (
	ErrUserInUse        = errors.New("username in use")
	ErrUserNotFound     = errors.New("user does not exist")
	ErrAlreadyConnected = errors.New("user already connected")
	ErrNotConnected     = errors.New("user not connected")
	ErrAlreadyPublished = errors.New("content already published")
	ErrNotPublished     = errors.New("content not published")
	ErrRemoteNotFound   = errors.New("remote user does not exist")
	// ErrTooManyFiles is PUBLISH to a list that holds the cap already:
	// PUBLISH's last code, like any other failure, but not the store's.
	ErrTooManyFiles = errors.New("published list is full")
	// ErrInvalid is a field no request may carry (§1, §4): the last code.
	ErrInvalid = errors.New("invalid field")
	// ErrOutcomeUnknown is wrapped by a store's error when it cannot tell
	// whether a change happened: it may be on disk,
	// although the store could not confirm it (a write failed and its
	// undo failed too; pgstore does not use it, see Store). Such a request
	// must get no reply at all: not its last code, which would promise
	// the change is not there, nor OK. It is not a refusal; OutcomeOf
	// gives wire.Failed, for callers that must show something.
	ErrOutcomeUnknown = errors.New("outcome unknown")
)

// outcomes is the one table from the errors of this package to the
// outcomes of §2; wire.StatusFor turns an outcome into each operation's
// code.
var outcomes = []struct {
	err error
	o   wire.Outcome
}{
	{ErrUserInUse, wire.UserInUse},
	{ErrUserNotFound, wire.UserNotFound},
	{ErrAlreadyConnected, wire.AlreadyConnected},
	{ErrNotConnected, wire.NotConnected},
	{ErrAlreadyPublished, wire.AlreadyPublished},
	{ErrNotPublished, wire.NotPublished},
	{ErrRemoteNotFound, wire.RemoteNotFound},
	{ErrTooManyFiles, wire.Failed},
	{ErrInvalid, wire.Failed},
}

// OutcomeOf returns the outcome err stands for: wire.OK for nil, the
// table's outcome for a sentinel of this package, wire.Failed for
// anything else.
func OutcomeOf(err error) wire.Outcome {
	if err == nil {
		return wire.OK
	}
	for _, e := range outcomes {
		if errors.Is(err, e.err) {
			return e.o
		}
	}
	return wire.Failed
}

// IsRefusal reports whether err is one of the outcomes of §2 (the request
// was refused by a rule) rather than a failure of the store.
func IsRefusal(err error) bool {
	for _, e := range outcomes {
		if errors.Is(err, e.err) {
			return true
		}
	}
	return false
}
