package csvstore

import (
	"io"
	"testing"

	"p2p/internal/directory"
	"p2p/internal/directory/storetest"
)

// TestConformance runs the store suite against the CSV store, syncing as
// the server does by default.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Fresh: func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func() (directory.Store, error) {
			return Open(Options{Dir: dir, Sync: true, Warn: io.Discard})
		}
	}})
}
