package csvstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"p2p/internal/directory"
	"p2p/internal/logging"
	"p2p/internal/wire"
)

// testStore answers the old way, one outcome per call, through the rules
// of directory.Directory, so that each test reads as the sequence of §2
// requests it plays.
type testStore struct {
	*Store
	d *directory.Directory
}

var bg = context.Background()

func (s testStore) Register(u string) wire.Outcome {
	return directory.OutcomeOf(s.d.Register(bg, u))
}
func (s testStore) Unregister(u string) wire.Outcome {
	return directory.OutcomeOf(s.d.Unregister(bg, u))
}
func (s testStore) Connect(u, ip, port string) wire.Outcome {
	return directory.OutcomeOf(s.d.Connect(bg, u, ip, port))
}
func (s testStore) Disconnect(u string) wire.Outcome {
	return directory.OutcomeOf(s.d.Disconnect(bg, u))
}
func (s testStore) Publish(u, f, d string) wire.Outcome {
	return directory.OutcomeOf(s.d.Publish(bg, u, f, d))
}
func (s testStore) Delete(u, f string) wire.Outcome {
	return directory.OutcomeOf(s.d.Delete(bg, u, f))
}
func (s testStore) ListUsers(u string) ([]wire.UserRecord, wire.Outcome) {
	recs, err := s.d.ListUsers(bg, u)
	return recs, directory.OutcomeOf(err)
}
func (s testStore) ListContent(u, r string) ([]wire.FileRecord, wire.Outcome) {
	recs, err := s.d.ListContent(bg, u, r)
	return recs, directory.OutcomeOf(err)
}

// syncBuf collects warnings written by the store's committer and the
// directory at once.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuf) Len() int { return len(b.String()) }

func open(t *testing.T, dir string, warn *syncBuf) testStore {
	t.Helper()
	if warn == nil {
		warn = new(syncBuf)
	}
	s, err := Open(Options{Dir: dir, Sync: true, Log: logging.New(warn, "server")})
	if err != nil {
		t.Fatal(err)
	}
	return testStore{s, directory.New(s, directory.Options{Log: logging.New(warn, "server")})}
}

func file(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func expect(t *testing.T, what string, got, want wire.Outcome) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: outcome %v, want %v", what, got, want)
	}
}

func TestStoreRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	expect(t, "register a", s.Register("a"), wire.OK)
	expect(t, "register b;c", s.Register("b;c"), wire.OK)
	expect(t, "register x", s.Register("x"), wire.OK)
	expect(t, "connect a", s.Connect("a", "10.0.0.1", "1234"), wire.OK)
	expect(t, "connect b;c", s.Connect("b;c", "10.0.0.2", "99"), wire.OK)
	expect(t, "publish", s.Publish("a", "f 1", `d "1"`), wire.OK)
	expect(t, "publish", s.Publish("a", "f2", ""), wire.OK)
	expect(t, "publish", s.Publish("a", "f3", "three"), wire.OK)
	expect(t, "delete", s.Delete("a", "f2"), wire.OK)
	expect(t, "unregister x", s.Unregister("x"), wire.OK)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := file(t, filepath.Join(dir, UsersFile)); got != "a\n\"b;c\"\n" {
		t.Errorf("users.csv %q", got)
	}
	if got := file(t, filepath.Join(dir, FilesDir, "a.csv")); got != "f 1;\"d \"\"1\"\"\"\nf3;three\n" {
		t.Errorf("a.csv %q", got)
	}
	var warn syncBuf
	s = open(t, dir, &warn)
	defer s.Close()
	if warn.Len() > 0 {
		t.Errorf("clean files reported: %s", warn.String())
	}
	users, o := s.ListUsers("a")
	expect(t, "list users", o, wire.OK)
	want := []wire.UserRecord{{Username: "a", IP: "10.0.0.1", Port: "1234"}, {Username: "b;c", IP: "10.0.0.2", Port: "99"}}
	if len(users) != 2 || users[0] != want[0] || users[1] != want[1] {
		t.Errorf("users after restart %+v", users)
	}
	files, o := s.ListContent("b;c", "a")
	expect(t, "list content", o, wire.OK)
	if len(files) != 2 || files[0].Filename != "f 1" || files[0].Description != `d "1"` || files[1].Filename != "f3" {
		t.Errorf("files after restart %+v", files)
	}
	expect(t, "x is gone", s.Register("x"), wire.OK)
}

func TestStoreLoadDamaged(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, FilesDir), 0o755)
	os.WriteFile(filepath.Join(dir, UsersFile), []byte("a\nb\"x\nb\na\n../evil\nc\nto"), 0o644)
	os.WriteFile(filepath.Join(dir, ConnectedFile), []byte("a;1.2.3.4;5\nghost;1.2.3.4;5\nb;1.2.3.4;99999\nc;1.1.1.1;7\n"), 0o644)
	os.WriteFile(filepath.Join(dir, FilesDir, "a.csv"), []byte("f;d\nonly\nf;again\ng;h"), 0o644)
	os.WriteFile(filepath.Join(dir, FilesDir, "b.csv"), []byte("stale;list\n"), 0o644)
	os.WriteFile(filepath.Join(dir, FilesDir, tempPrefix+"12345678"), []byte("junk"), 0o644)
	var warn syncBuf
	s := open(t, dir, &warn)
	defer s.Close()
	report := warn.String()
	for _, w := range []string{
		"users.csv:2:", "users.csv:4: username listed twice", "users.csv:5: username cannot be a file name", "users.csv:7: last line has no final newline",
		"connected.csv:2: user not in users.csv", "connected.csv:3: bad port",
		"a.csv:2: 1 values", "a.csv:3: filename listed twice", "a.csv:4: last line",
		"c.csv missing", "removing " + filepath.Join(dir, FilesDir, "b.csv"),
	} {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q:\n%s", w, report)
		}
	}
	// The files now hold exactly what was kept, so appends land on whole lines.
	if got := file(t, filepath.Join(dir, UsersFile)); got != "a\nb\nc\n" {
		t.Errorf("users.csv repaired to %q", got)
	}
	if got := file(t, filepath.Join(dir, ConnectedFile)); got != "a;1.2.3.4;5\nc;1.1.1.1;7\n" {
		t.Errorf("connected.csv repaired to %q", got)
	}
	if got := file(t, filepath.Join(dir, FilesDir, "a.csv")); got != "f;d\n" {
		t.Errorf("a.csv repaired to %q", got)
	}
	if got := file(t, filepath.Join(dir, FilesDir, "c.csv")); got != "" {
		t.Errorf("c.csv created as %q", got)
	}
	for _, gone := range []string{"b.csv", tempPrefix + "12345678"} {
		if _, err := os.Stat(filepath.Join(dir, FilesDir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", gone, err)
		}
	}
	// A read right after the repair does not wait for anything.
	if _, o := s.ListUsers("a"); o != wire.OK {
		t.Errorf("list users after repair: %v", o)
	}
	expect(t, "register after repair", s.Register("d"), wire.OK)
	if got := file(t, filepath.Join(dir, UsersFile)); got != "a\nb\nc\nd\n" {
		t.Errorf("users.csv %q", got)
	}
}

// TestStoreUnwritable breaks the folder under a running store: the changes
// that need it fail and leave no trace in memory, and once it is back the
// store works and the files match the memory.
func TestStoreUnwritable(t *testing.T) {
	dir := t.TempDir()
	var warn syncBuf
	s := open(t, dir, &warn)
	defer s.Close()
	expect(t, "register a", s.Register("a"), wire.OK)
	expect(t, "register b", s.Register("b"), wire.OK)
	expect(t, "connect b", s.Connect("b", "1.1.1.1", "1"), wire.OK)
	files := filepath.Join(dir, FilesDir)
	away := filepath.Join(dir, "away")
	if err := os.Rename(files, away); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(files, []byte("not a folder"), 0o644)
	expect(t, "connect a, files/ broken", s.Connect("a", "1.1.1.1", "2"), wire.Failed)
	expect(t, "publish b, files/ broken", s.Publish("b", "f", "d"), wire.Failed)
	_, o := s.ListUsers("a")
	expect(t, "a was not connected", o, wire.NotConnected)
	fl, o := s.ListContent("b", "b")
	expect(t, "list b", o, wire.OK)
	if len(fl) != 0 {
		t.Errorf("failed publish left %+v", fl)
	}
	// users.csv replaced by a folder: REGISTER fails too.
	users := filepath.Join(dir, UsersFile)
	os.Rename(users, users+".away")
	os.Mkdir(users, 0o755)
	expect(t, "register c, users.csv broken", s.Register("c"), wire.Failed)
	if !strings.Contains(warn.String(), "cannot write") {
		t.Errorf("no warning: %q", warn.String())
	}
	os.Remove(users)
	os.Rename(users+".away", users)
	os.Remove(files)
	os.Rename(away, files)
	expect(t, "register c, repaired", s.Register("c"), wire.OK)
	expect(t, "connect a, repaired", s.Connect("a", "1.1.1.1", "2"), wire.OK)
	expect(t, "publish b, repaired", s.Publish("b", "f", "d"), wire.OK)
	if !strings.Contains(warn.String(), "works again") {
		t.Errorf("no recovery note: %q", warn.String())
	}
	if got := file(t, users); got != "a\nb\nc\n" {
		t.Errorf("users.csv %q", got)
	}
	if got := file(t, filepath.Join(dir, ConnectedFile)); got != "b;1.1.1.1;1\na;1.1.1.1;2\n" {
		t.Errorf("connected.csv %q", got)
	}
	if got := file(t, filepath.Join(files, "b.csv")); got != "f;d\n" {
		t.Errorf("b.csv %q", got)
	}
}

func TestStoreConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := "user" + string(rune('A'+i%26)) + strings.Repeat("x", i)
			if s.Register(u) != wire.OK || s.Connect(u, "1.2.3.4", "1") != wire.OK ||
				s.Publish(u, "f", "d") != wire.OK || s.Publish(u, "g", "d") != wire.OK || s.Delete(u, "f") != wire.OK {
				t.Errorf("%s: an operation failed", u)
			}
			if i%2 == 0 && s.Unregister(u) != wire.OK {
				t.Errorf("%s: unregister failed", u)
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Changes != n*5+n/2 || st.Failed != 0 || st.Batches < 1 || st.Batches > st.Changes {
		t.Errorf("stats %+v, want %d changes", st, n*5+n/2)
	}
	s.Close()
	s = open(t, dir, nil)
	defer s.Close()
	if got := strings.Count(file(t, filepath.Join(dir, UsersFile)), "\n"); got != n/2 {
		t.Errorf("%d users on disk, want %d", got, n/2)
	}
	if s.conns.len() != n/2 {
		t.Errorf("%d connected after restart", s.conns.len())
	}
	for u, l := range s.files {
		if l.len() != 1 || !l.has("g") {
			t.Errorf("%s: list of %d", u, l.len())
		}
	}
}

// TestStoreFilesDirRecreated: files/ removed under a running store is
// created again by the next change that needs it.
func TestStoreFilesDirRecreated(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	defer s.Close()
	expect(t, "register", s.Register("a"), wire.OK)
	if err := os.RemoveAll(filepath.Join(dir, FilesDir)); err != nil {
		t.Fatal(err)
	}
	expect(t, "connect", s.Connect("a", "1.1.1.1", "1"), wire.OK)
	expect(t, "publish", s.Publish("a", "f", "d"), wire.OK)
	if got := file(t, filepath.Join(dir, FilesDir, "a.csv")); got != "f;d\n" {
		t.Errorf("a.csv %q", got)
	}
	expect(t, "disconnect", s.Disconnect("a"), wire.OK)
	if _, err := os.Stat(filepath.Join(dir, FilesDir, "a.csv")); !os.IsNotExist(err) {
		t.Errorf("a.csv after disconnect: %v", err)
	}
}

// TestStoreTempLikeUsername: a user whose name starts like a temporary
// file (".tmp-x", list files/.tmp-x.csv) keeps its list across a restart,
// while real leftovers of a crash are removed.
func TestStoreTempLikeUsername(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	expect(t, "register", s.Register(".tmp-x"), wire.OK)
	expect(t, "connect", s.Connect(".tmp-x", "10.0.0.1", "6000"), wire.OK)
	expect(t, "publish", s.Publish(".tmp-x", "song.mp3", "a song"), wire.OK)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	leftovers := []string{filepath.Join(dir, tempPrefix+"0badc0de"), filepath.Join(dir, FilesDir, tempPrefix+"deadbeef")}
	for _, p := range leftovers {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var warn syncBuf
	s = open(t, dir, &warn)
	defer s.Close()
	if warn.Len() > 0 {
		t.Errorf("restart reported: %s", warn.String())
	}
	files, o := s.ListContent(".tmp-x", ".tmp-x")
	expect(t, "list content", o, wire.OK)
	if len(files) != 1 || files[0].Filename != "song.mp3" || files[0].Description != "a song" {
		t.Errorf("files after restart %+v", files)
	}
	for _, p := range leftovers {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("leftover %s: %v, want it removed", p, err)
		}
	}
}

// TestStoreOneServerPerFolder: a second Open of a folder in use fails with
// a clear error and leaves the files alone; after Close the folder opens.
func TestStoreOneServerPerFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by Open
	s := open(t, dir, nil)
	expect(t, "register", s.Register("a"), wire.OK)
	before := file(t, filepath.Join(dir, UsersFile))
	if s2, err := Open(Options{Dir: dir, Log: logging.New(new(bytes.Buffer), "")}); err == nil {
		s2.Close()
		t.Fatal("a second Open of a folder in use succeeded")
	} else if !strings.Contains(err.Error(), "in use by another server") {
		t.Fatalf("second Open: %v, want 'in use by another server'", err)
	}
	if got := file(t, filepath.Join(dir, UsersFile)); got != before {
		t.Fatalf("users.csv changed by the refused Open: %q, was %q", got, before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, nil)
	defer s.Close()
	expect(t, "a is still registered", s.Register("a"), wire.UserInUse)
}

// TestStoreListShared: readers of an unchanged list share one slice (a
// LIST_CONTENT does not copy the list); a change makes a new one, and the
// slice a reader holds keeps its records.
func TestStoreListShared(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	defer s.Close()
	expect(t, "register", s.Register("a"), wire.OK)
	expect(t, "connect", s.Connect("a", "1.1.1.1", "1"), wire.OK)
	expect(t, "publish", s.Publish("a", "f1", "d"), wire.OK)
	expect(t, "publish", s.Publish("a", "f2", "d"), wire.OK)
	one, _ := s.ListContent("a", "a")
	two, _ := s.ListContent("a", "a")
	if len(one) != 2 || &one[0] != &two[0] {
		t.Fatalf("two reads of one list: %p and %p, want one slice", &one[0], &two[0])
	}
	expect(t, "delete", s.Delete("a", "f1"), wire.OK)
	three, _ := s.ListContent("a", "a")
	if len(three) != 1 || three[0].Filename != "f2" || &three[0] == &one[0] {
		t.Errorf("after a change: %+v", three)
	}
	if one[0].Filename != "f1" || one[1].Filename != "f2" {
		t.Errorf("the slice an earlier reader holds changed: %+v", one)
	}
}
