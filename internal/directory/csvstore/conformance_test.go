package csvstore

import (
	"testing"

	"p2p/internal/directory"
	"p2p/internal/directory/storetest"
	"p2p/internal/logging"
)

// TestConformance runs the store suite against the CSV store, syncing as
// the server does by default.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Fresh: func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func() (directory.Store, error) {
			return Open(Options{Dir: dir, Sync: true, Log: logging.Discard()})
		}
	}})
}
