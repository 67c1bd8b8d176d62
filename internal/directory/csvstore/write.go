package csvstore

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"p2p/internal/wire"
)

// write puts b's plan on disk in four steps, so that the batch costs about
// one sync however many files it touches:
//
//  1. write: each file to rewrite goes to a temporary file beside it, each
//     append to the end of its file;
//  2. sync all those files at once (concurrent fsyncs share the file
//     system's journal commit);
//  3. rename the temporary files over their targets (users.csv first, then
//     connected.csv, then the lists) and remove the lists of users no
//     longer connected;
//  4. sync the folders touched, making renames, creations and removals
//     durable.
//
// A crash at any point leaves every file whole (old or new content, or an
// append whose torn last line the load drops), and the load tolerates any
// mix of a batch's files (see load).
func (s *Store) write(b *batch) error {
	w := &batchWriter{sync: s.sync, dirs: make(map[string]bool)}
	defer w.cleanup()
	usersPath := filepath.Join(s.dir, UsersFile)
	if b.usersRewrite {
		w.replace(usersPath, appendNames(nil, b.usersAll))
	} else if len(b.usersAdd) > 0 {
		w.append(usersPath, appendNames(nil, b.usersAdd))
	}
	connPath := filepath.Join(s.dir, ConnectedFile)
	if b.connRewrite {
		w.replace(connPath, appendUsers(nil, b.connAll))
	} else if len(b.connAdd) > 0 {
		w.append(connPath, appendUsers(nil, b.connAdd))
	}
	if len(b.plans) > 0 && w.err == nil {
		switch err := os.Mkdir(s.filesDir, 0o755); {
		case err == nil:
			w.dirs[s.dir] = true
		case !errors.Is(err, fs.ErrExist):
			return err
		}
	}
	var removals []string
	for _, p := range b.plans {
		path := filepath.Join(s.filesDir, p.user+listSuffix)
		switch {
		case p.remove:
			removals = append(removals, path)
		case p.rewrite:
			w.replace(path, appendFiles(nil, p.recs))
		default:
			w.append(path, appendFiles(nil, p.recs))
		}
	}
	w.syncAll()
	w.renameAll()
	for _, path := range removals {
		if w.err != nil {
			break
		}
		err := os.Remove(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			w.err = err // (ENOTDIR: files/ is not a folder, so the list is gone)
		}
		w.dirs[filepath.Dir(path)] = true
	}
	w.syncDirs()
	return w.err
}

// batchWriter carries a batch's files through the steps of write; the
// first error stops every later step.
type batchWriter struct {
	sync    bool
	err     error
	open    []*os.File      // written, to sync and close
	renames [][2]string     // temporary file → target, after the sync
	renamed int             // how many of renames are done
	dirs    map[string]bool // folders to sync at the end
}

// maxSyncs bounds the fsyncs a batch runs at once.
const maxSyncs = 32

// replace writes data to a temporary file beside path (a short name, so it
// fits the 255-byte limit whatever path's length), to be renamed over path.
func (w *batchWriter) replace(path string, data []byte) {
	if w.err != nil {
		return
	}
	dir := filepath.Dir(path)
	var f *os.File
	var tmp string
	for range 100 {
		tmp = filepath.Join(dir, fmt.Sprintf("%s%08x", tempPrefix, rand.Uint32()))
		var err error
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			w.err = err
			return
		}
	}
	if f == nil {
		w.err = fmt.Errorf("no free temporary name in %s", dir)
		return
	}
	w.open = append(w.open, f)
	w.renames = append(w.renames, [2]string{tmp, path})
	w.dirs[dir] = true
	if _, err := f.Write(data); err != nil {
		w.err = err
	}
}

// append appends data to the existing file path. A missing file is an
// error (the batch fails, and the next one rewrites the file whole), so an
// append never creates a file whose folder entry is not synced.
func (w *batchWriter) append(path string, data []byte) {
	if w.err != nil {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		w.err = err
		return
	}
	w.open = append(w.open, f)
	if _, err := f.Write(data); err != nil {
		w.err = err
	}
}

// syncAll syncs (when syncing is on) and closes every file written.
func (w *batchWriter) syncAll() {
	if w.sync && w.err == nil {
		w.parallel(len(w.open), func(i int) error { return w.open[i].Sync() })
	}
	for _, f := range w.open {
		if err := f.Close(); err != nil && w.err == nil {
			w.err = err
		}
	}
	w.open = nil
}

func (w *batchWriter) renameAll() {
	for _, r := range w.renames {
		if w.err != nil {
			return
		}
		if w.err = os.Rename(r[0], r[1]); w.err == nil {
			w.renamed++
		}
	}
}

// syncDirs syncs the folders whose entries changed.
func (w *batchWriter) syncDirs() {
	if !w.sync || w.err != nil {
		return
	}
	var dirs []string
	for d := range w.dirs {
		dirs = append(dirs, d)
	}
	w.parallel(len(dirs), func(i int) error { return syncPath(dirs[i]) })
}

// parallel runs f(0..n-1), at most maxSyncs at once, and keeps the first
// error.
func (w *batchWriter) parallel(n int, f func(int) error) {
	if n == 1 {
		w.err = f(0)
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxSyncs)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			err := f(i)
			<-sem
			if err != nil {
				mu.Lock()
				if w.err == nil {
					w.err = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// cleanup closes what is still open and removes the temporary files a
// failed batch did not rename.
func (w *batchWriter) cleanup() {
	for _, f := range w.open {
		f.Close()
	}
	for _, r := range w.renames[w.renamed:] {
		os.Remove(r[0])
	}
}

func appendNames(buf []byte, names []string) []byte {
	for _, n := range names {
		buf = appendRecord(buf, n)
	}
	return buf
}

func appendUsers(buf []byte, recs []wire.UserRecord) []byte {
	for _, r := range recs {
		buf = appendRecord(buf, r.Username, r.IP, r.Port)
	}
	return buf
}

func appendFiles(buf []byte, recs []wire.FileRecord) []byte {
	for _, r := range recs {
		buf = appendRecord(buf, r.Filename, r.Description)
	}
	return buf
}

// tempPrefix starts the name of every temporary file; the load removes
// leftovers of a crash. A temporary name never ends in listSuffix.
const tempPrefix = ".tmp-"

// listSuffix ends the name of every user's list: files/<username>.csv.
const listSuffix = ".csv"

// isTemp reports whether name is one of our temporary files' names.
func isTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && !strings.HasSuffix(name, listSuffix)
}

// syncPath fsyncs a folder, so that the renames, creations and removals
// in it are durable (a rename alone is not).
func syncPath(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if errors.Is(err, syscall.EINVAL) {
		err = nil // some file systems cannot sync a folder
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
