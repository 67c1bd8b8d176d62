package peer

import (
	"path/filepath"
	"sync"

	"p2p/internal/wire"
)

// Catalog is the published list of one connected user: the files, in
// publishing order, that its client's listener serves. It is safe for
// concurrent use (the shell changes it while the listener reads it).
type Catalog struct {
	dir   string
	mu    sync.RWMutex
	files []wire.FileRecord
}

// NewCatalog returns an empty catalog whose relative file names are found
// in dir (the client's working directory).
func NewCatalog(dir string) *Catalog { return &Catalog{dir: dir} }

// Add appends a file; it reports false, changing nothing, if the name is
// already listed.
func (c *Catalog) Add(f wire.FileRecord) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.indexLocked(f.Filename) >= 0 {
		return false
	}
	c.files = append(c.files, f)
	return true
}

// Remove drops a file; it reports false if the name was not listed.
func (c *Catalog) Remove(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.indexLocked(name)
	if i < 0 {
		return false
	}
	c.files = append(c.files[:i], c.files[i+1:]...)
	return true
}

// Reset empties the catalog.
func (c *Catalog) Reset() {
	c.mu.Lock()
	c.files = nil
	c.mu.Unlock()
}

// Files returns a copy of the list, in publishing order.
func (c *Catalog) Files() []wire.FileRecord {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]wire.FileRecord{}, c.files...)
}

// Path returns where the published file name lives on disk, and false when
// name is not exactly one of the published names: no other path is ever
// served.
func (c *Catalog) Path(name string) (string, bool) {
	c.mu.RLock()
	ok := c.indexLocked(name) >= 0
	c.mu.RUnlock()
	if !ok {
		return "", false
	}
	if filepath.IsAbs(name) {
		return name, true
	}
	return filepath.Join(c.dir, name), true
}

func (c *Catalog) indexLocked(name string) int {
	for i, f := range c.files {
		if f.Filename == name {
			return i
		}
	}
	return -1
}
