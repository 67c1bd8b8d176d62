// Package directory is the central server's state (PROTOCOL.md §2, §4): the
// registered users, the connected ones with their address, and each
// connected user's published list.
//
// Directory is the small interface the network code calls, in the
// directory's own terms; Store is its implementation over the CSV files of
// §4 (users.csv, connected.csv, files/<user>.csv). Every Store method
// returns only once the change it reports is written and, when syncing is
// on, fsynced: a server that replies after the call returns never
// acknowledges something a crash can lose.
package directory

import (
	"strings"

	"p2p/internal/wire"
)

// Directory is what the central server needs from a store. Each method
// answers one request of §2 with its outcome; wire.StatusFor turns that into
// the operation's status code. Checks run in the order of §2's columns.
// Methods are safe for concurrent use.
type Directory interface {
	// Register adds user (UserInUse when taken).
	Register(user string) wire.Outcome
	// Unregister removes user, with its connection and published list.
	Unregister(user string) wire.Outcome
	// Connect records user's GET_FILE address and starts its empty list.
	Connect(user, ip, port string) wire.Outcome
	// Disconnect removes user's connection record and published list.
	Disconnect(user string) wire.Outcome
	// Publish appends filename to user's list.
	Publish(user, filename, description string) wire.Outcome
	// Delete removes filename from user's list.
	Delete(user, filename string) wire.Outcome
	// ListUsers returns every connected user in the order they connected.
	// The caller must not modify the slice (a store may share it).
	ListUsers(user string) ([]wire.UserRecord, wire.Outcome)
	// ListContent returns remote's list in publishing order (empty when
	// remote is registered but not connected).
	ListContent(user, remote string) ([]wire.FileRecord, wire.Outcome)
	// Close finishes pending writes and releases the store.
	Close() error
}

// SafeName reports whether a username can become a file name (§4): not
// empty, not "." or "..", no '/', '\\' or control byte (below 0x20, or
// 0x7f), at most wire.MaxUsernameLen bytes so that "<name>.csv" fits the
// 255-byte limit on a file name.
func SafeName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > wire.MaxUsernameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

// validValue reports whether s fits a filename or description field.
func validValue(s string) bool {
	return len(s) <= wire.MaxValueLen && !strings.ContainsRune(s, 0)
}

// validIP reports whether s fits the ip field of a record.
func validIP(s string) bool {
	return s != "" && len(s) <= wire.IPSize-1 && !strings.ContainsRune(s, 0)
}
