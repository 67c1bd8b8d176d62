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
// mix of a batch's files (see load). The writer it returns records what
// reached the disk, for undo when the batch failed; the caller cleans it
// up.
func (s *Store) write(b *batch) (*batchWriter, error) {
	w := newWriter(s.sync, b.fault)
	if b.usersRewrite {
		w.replace(s.path(usersKey), usersKey, appendNames(nil, b.usersAll))
	} else if len(b.usersAdd) > 0 {
		w.append(s.path(usersKey), usersKey, appendNames(nil, b.usersAdd))
	}
	if b.connRewrite {
		w.replace(s.path(connsKey), connsKey, appendUsers(nil, b.connAll))
	} else if len(b.connAdd) > 0 {
		w.append(s.path(connsKey), connsKey, appendUsers(nil, b.connAdd))
	}
	if len(b.plans) > 0 {
		w.mkdirFiles(s.dir, s.filesDir)
	}
	var removals []fileKey
	for _, p := range b.plans {
		k := listKey(p.user)
		switch {
		case p.remove:
			removals = append(removals, k)
		case p.rewrite:
			w.replace(s.path(k), k, appendFiles(nil, p.recs))
		default:
			w.append(s.path(k), k, appendFiles(nil, p.recs))
		}
	}
	w.syncAll()
	w.renameAll()
	for _, k := range removals {
		w.remove(s.path(k), k)
	}
	w.syncDirs()
	return w, w.err
}

// fileKey names one file of the store: users.csv, connected.csv, or the
// list files/<user>.csv.
type fileKey struct {
	kind fileKind
	user string // kind == listFile
}

type fileKind uint8

const (
	usersFile fileKind = iota
	connsFile
	listFile
)

var (
	usersKey = fileKey{kind: usersFile}
	connsKey = fileKey{kind: connsFile}
)

func listKey(user string) fileKey { return fileKey{kind: listFile, user: user} }

// path is where the file k lives.
func (s *Store) path(k fileKey) string {
	switch k.kind {
	case usersFile:
		return filepath.Join(s.dir, UsersFile)
	case connsFile:
		return filepath.Join(s.dir, ConnectedFile)
	}
	return filepath.Join(s.filesDir, k.user+listSuffix)
}

// faultFunc, when set (by tests), is called before every step that
// touches the disk, with the step's name and path; an error it returns is
// that step's error.
type faultFunc func(step, path string) error

// batchWriter carries a batch's files through the steps of write; the
// first error stops every later step. It records what reached the disk
// (appends, renames, removals), so that a failed batch can be undone.
type batchWriter struct {
	sync    bool
	fault   faultFunc
	err     error
	open    []*os.File      // temporary files written, to sync and close
	appends []appended      // files appended to, open until cleanup
	renames []renaming      // temporary file → target, after the sync
	renamed int             // how many of renames are done
	removed []fileKey       // lists removed
	missing []fileKey       // files an append found missing
	dirs    map[string]bool // folders to sync at the end
}

// appended is one append: the file, still open, and its size before.
type appended struct {
	key  fileKey
	f    *os.File
	size int64
}

type renaming struct {
	tmp, path string
	key       fileKey
}

func newWriter(sync bool, fault faultFunc) *batchWriter {
	return &batchWriter{sync: sync, fault: fault, dirs: make(map[string]bool)}
}

// step runs the fault hook for one step; false means the step must not run
// (an earlier step failed, or the hook failed this one).
func (w *batchWriter) step(name, path string) bool {
	if w.err != nil {
		return false
	}
	if w.fault != nil {
		w.err = w.fault(name, path)
	}
	return w.err == nil
}

// maxSyncs bounds the fsyncs a batch runs at once.
const maxSyncs = 32

// mkdirFiles creates files/ when it is missing.
func (w *batchWriter) mkdirFiles(dir, filesDir string) {
	if !w.step("mkdir", filesDir) {
		return
	}
	switch err := os.Mkdir(filesDir, 0o755); {
	case err == nil:
		w.dirs[dir] = true
	case !errors.Is(err, fs.ErrExist):
		w.err = err
	}
}

// replace writes data to a temporary file beside path (a short name, so it
// fits the 255-byte limit whatever path's length), to be renamed over path.
func (w *batchWriter) replace(path string, k fileKey, data []byte) {
	if !w.step("create", path) {
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
	w.renames = append(w.renames, renaming{tmp, path, k})
	w.dirs[dir] = true
	if !w.step("write", path) {
		return
	}
	if _, err := f.Write(data); err != nil {
		w.err = err
	}
}

// append appends data to the existing file path. A missing file is an
// error (the batch fails, and the next one rewrites the file whole), so an
// append never creates a file whose folder entry is not synced. The file
// stays open, and its size before is kept, for undo.
func (w *batchWriter) append(path string, k fileKey, data []byte) {
	if !w.step("open", path) {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.missing = append(w.missing, k)
		}
		w.err = err
		return
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		w.err = err
		return
	}
	w.appends = append(w.appends, appended{k, f, st.Size()})
	if !w.step("append", path) {
		return
	}
	if _, err := f.Write(data); err != nil {
		w.err = err
	}
}

// syncAll syncs (when syncing is on) every file written, and closes the
// temporary files.
func (w *batchWriter) syncAll() {
	if w.sync && w.step("sync", "") {
		files := make([]*os.File, 0, len(w.open)+len(w.appends))
		files = append(files, w.open...)
		for _, a := range w.appends {
			files = append(files, a.f)
		}
		w.parallel(len(files), func(i int) error { return files[i].Sync() })
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
		if !w.step("rename", r.path) {
			return
		}
		if w.err = os.Rename(r.tmp, r.path); w.err == nil {
			w.renamed++
		}
	}
}

// remove removes the list at path (a missing one is fine).
func (w *batchWriter) remove(path string, k fileKey) {
	if !w.step("remove", path) {
		return
	}
	w.dirs[filepath.Dir(path)] = true
	switch err := os.Remove(path); {
	case err == nil:
		w.removed = append(w.removed, k)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// Already gone (ENOTDIR: files/ is not a folder, so the list is gone).
	default:
		w.err = err
	}
}

// syncDirs syncs the folders whose entries changed.
func (w *batchWriter) syncDirs() {
	if !w.sync || !w.step("syncdir", "") {
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

// truncate cuts an appended file back to its size before the append and
// syncs it: the undo of an append, byte for byte, needing no free space.
func (w *batchWriter) truncate(a appended) error {
	if w.fault != nil {
		if err := w.fault("truncate", a.f.Name()); err != nil {
			return err
		}
	}
	if err := a.f.Truncate(a.size); err != nil {
		return err
	}
	if w.sync {
		return a.f.Sync()
	}
	return nil
}

// cleanup closes what is still open and removes the temporary files a
// failed batch did not rename.
func (w *batchWriter) cleanup() {
	for _, f := range w.open {
		f.Close()
	}
	for _, a := range w.appends {
		a.f.Close()
	}
	for _, r := range w.renames[w.renamed:] {
		os.Remove(r.tmp)
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
