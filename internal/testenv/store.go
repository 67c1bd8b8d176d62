package testenv

import (
	"testing"

	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/logging"
)

// CSVDirectory opens the CSV store in the folder dir (fsync off: tests
// that check durability open their own) and returns the Directory over
// it. The store is closed when t ends, after whatever the test starts
// later has been stopped (cleanups run newest first).
func CSVDirectory(t testing.TB, dir string) *directory.Directory {
	t.Helper()
	st, err := csvstore.Open(csvstore.Options{Dir: dir, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return directory.New(st, directory.Options{})
}
