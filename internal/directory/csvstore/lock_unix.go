//go:build unix

package csvstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on the data folder itself (flock
// on its descriptor; no lock file), so that two servers never share one
// folder: the second would load, repair and rewrite files that the first
// serves from memory. Closing the returned file releases the lock, and so
// does the process's end, even by SIGKILL.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("directory: data folder %s is in use by another server", dir)
		}
		return nil, fmt.Errorf("directory: locking %s: %w", dir, err)
	}
	return f, nil
}
