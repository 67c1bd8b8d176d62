//go:build !unix

package csvstore

import "os"

// lockDir does nothing where flock is missing: one server per data folder
// is then the operator's care.
func lockDir(string) (*os.File, error) { return nil, nil }
