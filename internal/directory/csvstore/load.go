package csvstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// load reads the files of §4 into memory. What it keeps is consistent
// whatever moment a crash hit: a connection of a user not in users.csv is
// dropped (an UNREGISTER stopped halfway), a connected user without a list
// gets an empty one (a CONNECT stopped halfway), a list of a user not
// connected is removed (a DISCONNECT stopped halfway), and a torn last line
// is dropped. Every damaged or dropped line is reported on s.log as
// file:line, and the files are marked to be rewritten with what was kept,
// so that later appends land after whole lines. A file that cannot be read
// (other than missing) stops the load.
func (s *Store) load() error {
	if err := os.Mkdir(s.filesDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("directory: creating %s: %w", s.filesDir, err)
	}
	if st, err := os.Stat(s.filesDir); err != nil || !st.IsDir() {
		return fmt.Errorf("directory: %s is not a folder", s.filesDir)
	}
	s.removeTemps(s.dir)
	s.removeTemps(s.filesDir)

	usersPath := filepath.Join(s.dir, UsersFile)
	recs, ok, err := readCSV(usersPath)
	if err != nil {
		return err
	}
	s.dirty.users = !ok
	for _, r := range recs {
		why := ""
		switch {
		case r.err != nil:
			why = r.err.Error()
		case len(r.fields) != 1:
			why = fmt.Sprintf("%d values, want 1 (username)", len(r.fields))
		case !directory.SafeName(r.fields[0]):
			why = "username cannot be a file name"
		case s.users.has(r.fields[0]):
			why = "username listed twice"
		}
		if why != "" {
			s.report(usersPath, r, why)
			s.dirty.users = true
			continue
		}
		s.users.add(r.fields[0], struct{}{})
	}

	connPath := filepath.Join(s.dir, ConnectedFile)
	recs, ok, err = readCSV(connPath)
	if err != nil {
		return err
	}
	s.dirty.conns = !ok
	for _, r := range recs {
		why := ""
		switch {
		case r.err != nil:
			why = r.err.Error()
		case len(r.fields) != 3:
			why = fmt.Sprintf("%d values, want 3 (username;ip;port)", len(r.fields))
		case !s.users.has(r.fields[0]):
			why = "user not in " + UsersFile
		case s.conns.has(r.fields[0]):
			why = "user connected twice"
		case !directory.ValidIP(r.fields[1]):
			why = "bad ip"
		case !wire.ValidPort(r.fields[2]):
			why = "bad port"
		}
		if why != "" {
			s.report(connPath, r, why)
			s.dirty.conns = true
			continue
		}
		s.conns.add(r.fields[0], addr{r.fields[1], r.fields[2]})
	}

	var loadErr error
	s.conns.each(func(u string, _ addr) {
		if loadErr == nil {
			loadErr = s.loadList(u)
		}
	})
	if loadErr != nil {
		return loadErr
	}
	s.buildIndex()
	return s.removeStaleLists()
}

// loadList reads files/<user>.csv of a connected user.
func (s *Store) loadList(user string) error {
	path := filepath.Join(s.filesDir, user+listSuffix)
	recs, ok, err := readCSV(path)
	if err != nil {
		return err
	}
	list := newFileList()
	s.files[user] = list
	if !ok {
		s.log.Warn(fmt.Sprintf("directory: %s missing for connected user %q: starting an empty list", path, user))
		s.dirty.files[user] = true
	}
	for _, r := range recs {
		why := ""
		switch {
		case r.err != nil:
			why = r.err.Error()
		case len(r.fields) != 2:
			why = fmt.Sprintf("%d values, want 2 (filename;description)", len(r.fields))
		case !directory.ValidValue(r.fields[0]) || !directory.ValidValue(r.fields[1]):
			why = "value longer than 255 bytes or holding NUL"
		case list.has(r.fields[0]):
			why = "filename listed twice"
		}
		if why != "" {
			s.report(path, r, why)
			s.dirty.files[user] = true
			continue
		}
		list.add(r.fields[0], r.fields[1])
	}
	return nil
}

// removeStaleLists removes files/<user>.csv of users not connected: left
// by a DISCONNECT or UNREGISTER that a crash stopped before its reply.
// Other files in files/ are not ours and are left alone.
func (s *Store) removeStaleLists() error {
	entries, err := os.ReadDir(s.filesDir)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	for _, e := range entries {
		u, ok := strings.CutSuffix(e.Name(), listSuffix)
		if !ok || !e.Type().IsRegular() || s.conns.has(u) {
			continue
		}
		path := filepath.Join(s.filesDir, e.Name())
		s.log.Warn(fmt.Sprintf("directory: removing %s: user %q is not connected", path, u))
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
	}
	return nil
}

// removeTemps removes temporary files a crash left in dir. A name that
// ends in listSuffix is a user's list, even one that starts like a
// temporary file (user ".tmp-x" has files/.tmp-x.csv), and stays.
func (s *Store) removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if isTemp(e.Name()) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// readCSV parses the file at path; ok is false when it does not exist.
func readCSV(path string) (recs []record, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("directory: %w", err)
	}
	return parseCSV(data), true, nil
}

// report tells about one line the load did not keep.
func (s *Store) report(path string, r record, why string) {
	raw := string(r.raw)
	if len(raw) > 120 {
		raw = raw[:120] + "..."
	}
	s.log.Warn(fmt.Sprintf("directory: %s:%d: %s: line dropped: %q", path, r.line, why, raw))
}
