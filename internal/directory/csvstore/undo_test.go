package csvstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// tree shows every entry of the data folder: folders by name, files with
// their bytes, so that two trees are equal exactly when the folder is.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			lines = append(lines, rel+"/")
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s: %q", rel, b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// state shows what the store holds in memory, in its orders.
func (s testStore) state() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	s.users.each(func(u string, _ struct{}) { fmt.Fprintf(&b, "user %s\n", u) })
	s.conns.each(func(u string, a addr) {
		fmt.Fprintf(&b, "conn %s %s %s\n", u, a.ip, a.port)
		s.files[u].each(func(f, d string) { fmt.Fprintf(&b, "  file %s %s\n", f, d) })
	})
	return b.String()
}

// undoState is the directory every undo test starts from: a and b
// connected with lists, c and d registered only.
func undoState(t *testing.T, dir string) testStore {
	t.Helper()
	s := open(t, dir, nil)
	for _, u := range []string{"a", "b", "c", "d"} {
		expect(t, "register "+u, s.Register(u), wire.OK)
	}
	expect(t, "connect a", s.Connect("a", "10.0.0.1", "1000"), wire.OK)
	expect(t, "connect b", s.Connect("b", "10.0.0.2", "2000"), wire.OK)
	expect(t, "publish", s.Publish("a", "f1", "one"), wire.OK)
	expect(t, "publish", s.Publish("a", "f2", "two"), wire.OK)
	expect(t, "publish", s.Publish("b", "g1", "gee"), wire.OK)
	return s
}

// undoOps are the changes the undo tests try, each touching other files.
var undoOps = []struct {
	name string
	do   func(s testStore) wire.Outcome
}{
	{"REGISTER e", func(s testStore) wire.Outcome { return s.Register("e") }},
	{"UNREGISTER a", func(s testStore) wire.Outcome { return s.Unregister("a") }},
	{"UNREGISTER c", func(s testStore) wire.Outcome { return s.Unregister("c") }},
	{"CONNECT c", func(s testStore) wire.Outcome { return s.Connect("c", "10.0.0.3", "3000") }},
	{"DISCONNECT a", func(s testStore) wire.Outcome { return s.Disconnect("a") }},
	{"DISCONNECT b", func(s testStore) wire.Outcome { return s.Disconnect("b") }},
	{"PUBLISH a", func(s testStore) wire.Outcome { return s.Publish("a", "h", "new") }},
	{"PUBLISH b", func(s testStore) wire.Outcome { return s.Publish("b", "h", "new") }},
	{"DELETE a", func(s testStore) wire.Outcome { return s.Delete("a", "f1") }},
}

// failed reports whether o is op's last code (a storage failure).
func failed(o wire.Outcome) bool { return o == wire.Failed }

// TestStoreBrokenPathsLeaveNothing replaces each file of the folder by a
// folder (and files/ by a plain file) under a running store. Every change
// that fails for it leaves every file byte for byte as before, a restart
// (with the path fixed) shows none of it, and once the path is fixed the
// same change succeeds: the store repairs itself.
func TestStoreBrokenPathsLeaveNothing(t *testing.T) {
	breaks := []struct {
		name string
		path string // relative to the data folder
		dir  bool   // replaced by a folder (with a file in it), else by a plain file
		must []string
	}{
		{"users.csv is a folder", UsersFile, true, []string{"REGISTER e", "UNREGISTER a", "UNREGISTER c"}},
		{"connected.csv is a folder", ConnectedFile, true, []string{"UNREGISTER a", "CONNECT c", "DISCONNECT a", "DISCONNECT b"}},
		{"files/ is a plain file", FilesDir, false, []string{"CONNECT c", "PUBLISH a", "DELETE a"}},
		{"files/a.csv is a folder", filepath.Join(FilesDir, "a.csv"), true, []string{"UNREGISTER a", "DISCONNECT a", "PUBLISH a", "DELETE a"}},
	}
	for _, br := range breaks {
		for _, op := range undoOps {
			t.Run(br.name+"/"+op.name, func(t *testing.T) {
				dir := t.TempDir()
				s := undoState(t, dir)
				want := s.state()
				path := filepath.Join(dir, br.path)
				away := filepath.Join(t.TempDir(), "away")
				if err := os.Rename(path, away); err != nil {
					t.Fatal(err)
				}
				if br.dir {
					os.Mkdir(path, 0o755)
					os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o644)
				} else {
					os.WriteFile(path, []byte("not a folder"), 0o644)
				}
				before := tree(t, dir)
				o := op.do(s)
				mustFail := false
				for _, m := range br.must {
					mustFail = mustFail || m == op.name
				}
				if mustFail && !failed(o) {
					t.Fatalf("outcome %v, want the last code", o)
				}
				if !failed(o) {
					s.Close()
					return
				}
				if after := tree(t, dir); after != before {
					t.Errorf("the failed change left the folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if got := s.state(); got != want {
					t.Errorf("memory after the failure:\n%s\nwant:\n%s", got, want)
				}
				// Fix the path: the same change now succeeds on the running store.
				os.RemoveAll(path)
				if err := os.Rename(away, path); err != nil {
					t.Fatal(err)
				}
				o2 := op.do(s)
				if o2 != wire.OK {
					t.Errorf("after the repair: outcome %v, want OK", o2)
				}
				done := s.state()
				s.Close()
				// A restart shows exactly what was acknowledged.
				s = open(t, dir, nil)
				defer s.Close()
				if got := s.state(); got != done {
					t.Errorf("after a restart:\n%s\nwant:\n%s", got, done)
				}
			})
		}
	}
}

// TestStoreFaultAnywhere fails each step of each change's write in turn
// (open, append, create, write, sync, rename, remove, folder sync): the
// change answers its last code, the folder is byte for byte as before,
// and a restart shows none of it.
func TestStoreFaultAnywhere(t *testing.T) {
	for _, op := range undoOps {
		for k := 1; ; k++ {
			dir := t.TempDir()
			s := undoState(t, dir)
			want, before := s.state(), tree(t, dir)
			var calls int
			var fired string
			s.mu.Lock()
			s.fault = func(step, path string) error {
				calls++
				if calls == k {
					fired = step + " " + filepath.Base(path)
					return fmt.Errorf("injected fault at %s", fired)
				}
				return nil
			}
			s.mu.Unlock()
			o := op.do(s)
			s.mu.Lock()
			s.fault = nil
			s.mu.Unlock()
			if fired == "" {
				s.Close()
				if k == 1 {
					t.Fatalf("%s: no step to fail", op.name)
				}
				break // every step has been failed once
			}
			if !failed(o) {
				t.Errorf("%s, fault at %s: outcome %v, want the last code", op.name, fired, o)
			}
			if after := tree(t, dir); after != before {
				t.Errorf("%s, fault at %s: folder changed:\nbefore:\n%s\nafter:\n%s", op.name, fired, before, after)
			}
			s.Close()
			s = open(t, dir, nil)
			if got := s.state(); got != want {
				t.Errorf("%s, fault at %s: after a restart:\n%s\nwant:\n%s", op.name, fired, got, want)
			}
			s.Close()
		}
	}
}

// TestStoreUndoFails: when the undo of a failed batch fails too, the
// change gets no answer (ErrOutcomeUnknown at its deadline), reads wait
// rather than report a state the disk does not hold, and once the disk
// works again the committer repairs the files by itself: the change is
// gone, on disk and after a restart.
func TestStoreUndoFails(t *testing.T) {
	dir := t.TempDir()
	s := undoState(t, dir)
	want := s.state()
	var mu sync.Mutex
	var broken, fixed bool
	s.mu.Lock()
	s.fault = func(step, path string) error {
		mu.Lock()
		defer mu.Unlock()
		// The batch's renames go through, then its folder sync fails, and
		// from then on so does every step (the undo's too) until fixed.
		if step == "syncdir" && !fixed {
			broken = true
		}
		if broken {
			return errors.New("injected: disk broken")
		}
		return nil
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	err := s.d.Unregister(ctx, "a")
	cancel()
	if !errors.Is(err, directory.ErrOutcomeUnknown) {
		t.Fatalf("UNREGISTER whose undo failed: %v, want ErrOutcomeUnknown", err)
	}
	ctx, cancel = context.WithTimeout(bg, 300*time.Millisecond)
	_, err = s.d.ListUsers(ctx, "b")
	cancel()
	if err == nil || errors.Is(err, directory.ErrOutcomeUnknown) {
		t.Fatalf("LIST_USERS while the files are unclean: %v, want a plain failure", err)
	}
	ctx, cancel = context.WithTimeout(bg, 300*time.Millisecond)
	err = s.d.Register(ctx, "z")
	cancel()
	if err == nil {
		t.Fatal("REGISTER acknowledged while the files hold a failed write")
	}

	mu.Lock()
	broken, fixed = false, true
	mu.Unlock()
	// The committer retries by itself; a read waits for the repair.
	ctx, cancel = context.WithTimeout(bg, 5*time.Second)
	recs, err := s.d.ListUsers(ctx, "b")
	cancel()
	if err != nil || len(recs) != 2 {
		t.Fatalf("LIST_USERS after the disk works again: %v %+v", err, recs)
	}
	if got := s.state(); got != want {
		t.Errorf("memory:\n%s\nwant:\n%s", got, want)
	}
	s.Close()
	s = open(t, dir, nil)
	defer s.Close()
	if got := s.state(); got != want {
		t.Errorf("after a restart:\n%s\nwant:\n%s", got, want)
	}
}

var _ = io.Discard

// TestCloseReportsLastWrite: when the last batch written failed, Close
// says so; when a later one succeeded, it does not.
func TestCloseReportsLastWrite(t *testing.T) {
	for _, repaired := range []bool{false, true} {
		s := undoState(t, t.TempDir())
		s.mu.Lock()
		s.fault = func(step, path string) error { return errors.New("injected: disk broken") }
		s.mu.Unlock()
		if o := s.Register("z"); o == wire.OK {
			t.Fatal("REGISTER acknowledged on a broken disk")
		}
		s.mu.Lock()
		s.fault = nil
		s.mu.Unlock()
		if repaired {
			expect(t, "register y", s.Register("y"), wire.OK)
		}
		err := s.Close()
		if repaired && err != nil || !repaired && (err == nil || !strings.Contains(err.Error(), "injected: disk broken")) {
			t.Errorf("repaired %v: Close = %v", repaired, err)
		}
	}
}
