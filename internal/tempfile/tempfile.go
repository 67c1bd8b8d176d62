// Package tempfile makes the client's temporary files (a download on its
// way, a JSON file being rewritten) and removes the ones a crashed client
// left behind, safely when several clients share a folder.
//
// A temporary file is named ".<prefix>.<random>.p2p-tmp" and its creator
// holds an exclusive flock(2) on it for as long as it has it open: the
// kernel drops the lock when the process ends, however it ends (SIGKILL,
// a crash, a power cut counts too since locks do not survive a reboot).
// So a temporary file that nobody holds locked is one whose creator is
// gone, and RemoveStale removes it. No pid is written into the name: a pid
// says nothing about a client on another host sharing the folder over NFS
// or in another pid namespace, and pids are reused; a lock says the truth
// in all those cases (NFS carries flock as a POSIX lock since Linux 2.6.12).
//
// The lock is taken before the file gets its recognisable name: it is
// created as ".<prefix>.<random>.p2p-new", locked, then renamed, so a
// client cleaning up never sees a ".p2p-tmp" file that is not yet locked.
// A ".p2p-new" file is only left by a crash in the microseconds between
// create and rename; RemoveStale removes those too once unlocked and older
// than a minute.
package tempfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Suffix ends the name of every temporary file of Create.
const Suffix = ".p2p-tmp"

const newSuffix = ".p2p-new"

// MaxPrefix is the longest prefix Create keeps: the name stays well within
// the 255-byte limit on a file name.
const MaxPrefix = 200

// newAge is how old an unlocked ".p2p-new" file must be before it is
// taken for a leftover.
const newAge = time.Minute

// Create creates a temporary file in dir, mode 0644, named
// ".<prefix>.<random>.p2p-tmp" (prefix cut to MaxPrefix bytes), and holds
// its lock until the file is closed. The caller renames or removes it.
// An empty dir is the working directory.
func Create(dir, prefix string) (*os.File, error) {
	if dir == "" {
		dir = "." // not os.TempDir: the file is renamed within dir
	}
	if len(prefix) > MaxPrefix {
		prefix = prefix[:MaxPrefix]
	}
	f, err := os.CreateTemp(dir, "."+prefix+".*"+newSuffix)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(f.Name(), newSuffix) + Suffix
	err = lock(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	// f.Name() must be the name the file has now: a duplicate of the
	// descriptor under that name. The lock belongs to the open file, which
	// both descriptors share, so closing f keeps it.
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		os.Remove(name)
		return nil, err
	}
	fd := -1
	if cerr := rc.Control(func(old uintptr) { fd, err = syscall.Dup(int(old)) }); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, err
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name), nil
}

func lock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	err = rc.Control(func(fd uintptr) {
		lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	})
	if err != nil {
		return err
	}
	return lerr
}

// RemoveStale removes from dir the temporary files of Create whose
// creator is gone (nobody holds the lock) and returns their names. Files
// of live clients, in this process or any other, are left alone.
func RemoveStale(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range es {
		name := e.Name()
		isTmp, isNew := strings.HasSuffix(name, Suffix), strings.HasSuffix(name, newSuffix)
		if !strings.HasPrefix(name, ".") || !isTmp && !isNew || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		if isNew {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < newAge {
				continue
			}
		}
		ok, err := removeIfUnlocked(path)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, name)
		}
	}
	return removed, errors.Join(errs...)
}

// removeIfUnlocked removes path when its lock can be taken, holding the
// lock while it does.
func removeIfUnlocked(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // renamed or removed by its owner meanwhile
		}
		return false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false, err
	}
	if err := lock(f); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil // a live client's
		}
		return false, err
	}
	// Still the file that was locked (not a new one under that name)?
	st1, _ := f.Stat()
	st2, err := os.Lstat(path)
	if err != nil || !os.SameFile(st1, st2) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}
