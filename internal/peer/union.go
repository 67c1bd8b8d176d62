package peer

import (
	"slices"
	"sync"
)

// Published is what a Server serves: the path on disk of a published name,
// and false for any name that is not published. *Catalog and *Union are
// Published; an implementation must be safe for concurrent use.
type Published interface {
	Path(name string) (path string, ok bool)
}

// Union is the published lists of several users of one client, served by
// its one listener (a GET_FILE names a file, not a user): a name is served
// while any of its catalogs lists it. The zero value is an empty union,
// ready to use; it is safe for concurrent use.
type Union struct {
	mu   sync.RWMutex
	cats []*Catalog
}

// Add joins c to the union; adding a catalog already in it changes nothing.
func (u *Union) Add(c *Catalog) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !slices.Contains(u.cats, c) {
		u.cats = append(u.cats, c)
	}
}

// Remove takes c out of the union: its names are no longer served unless
// another catalog of the union lists them too.
func (u *Union) Remove(c *Catalog) {
	u.mu.Lock()
	u.cats = slices.DeleteFunc(u.cats, func(x *Catalog) bool { return x == c })
	u.mu.Unlock()
}

// Reset empties the union.
func (u *Union) Reset() {
	u.mu.Lock()
	u.cats = nil
	u.mu.Unlock()
}

// Path is the path of name from the first catalog that lists it, and false
// when none does.
func (u *Union) Path(name string) (string, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	for _, c := range u.cats {
		if p, ok := c.Path(name); ok {
			return p, true
		}
	}
	return "", false
}
