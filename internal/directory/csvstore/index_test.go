package csvstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// vocabulary of the random cases: few words, so that postings grow long
// (past maxChunk) and queries of two words intersect.
var vocabulary = []string{"song", "MP3", "live", "rock", "Ñu", "x1", "final", "mix"}

func randomText(r *rand.Rand) string {
	n := 1 + r.IntN(3)
	s := ""
	for i := range n {
		if i > 0 {
			s += []string{" ", ".", "_", ";", "-"}[r.IntN(5)]
		}
		s += vocabulary[r.IntN(len(vocabulary))]
	}
	return s
}

// checkIndex compares the index with the memory it indexes: every query
// of one or two words answers what a scan of every list answers, and the
// index holds one posting per distinct word of each file, no more.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	words := directory.Words(vocabulary...)
	var queries [][]string
	for i, a := range words {
		queries = append(queries, []string{a})
		for _, b := range words[i+1:] {
			queries = append(queries, []string{a, b})
		}
	}
	queries = append(queries, []string{"absent"}, []string{"song", "absent"})
	for _, q := range queries {
		for _, limit := range []int{1, 7, 1 << 30} {
			got, want := s.idx.search(q, limit), s.scanLocked(q, limit)
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("SEARCH %q (limit %d):\nindex %v\nscan  %v", q, limit, got, want)
			}
		}
	}
	postings := 0
	for u, list := range s.files {
		if s.idx.owners[u] == nil {
			t.Fatalf("connected %s is not an owner of the index", u)
		}
		list.each(func(f, d string) { postings += len(directory.Words(f, d)) })
	}
	n := 0
	for w, p := range s.idx.words {
		if p.n == 0 {
			t.Fatalf("word %q kept with no posting", w)
		}
		c := 0
		var last uint64
		for _, ch := range p.chunks {
			if len(ch.ids) == 0 || len(ch.ids) > maxChunk {
				t.Fatalf("word %q: chunk of %d", w, len(ch.ids))
			}
			for _, id := range ch.ids {
				e := s.idx.ents[id]
				if e.file == nil || !slices.Contains(directory.Words(e.file.key, e.file.val), w) {
					t.Fatalf("word %q: a posting of a free entry or of a file without the word", w)
				}
				if c > 0 && e.key <= last {
					t.Fatalf("word %q: keys out of order", w)
				}
				last = e.key
				c++
			}
			if ch.last != last {
				t.Fatalf("word %q: a chunk's last key %x, its last posting's %x", w, ch.last, last)
			}
		}
		if c != p.n {
			t.Fatalf("word %q: %d postings, counted %d", w, c, p.n)
		}
		n += c
	}
	used := 0
	for _, e := range s.idx.ents {
		if e.file != nil {
			used++
		}
	}
	if used+len(s.idx.free) != len(s.idx.ents) {
		t.Fatalf("%d entries used, %d free, of %d", used, len(s.idx.free), len(s.idx.ents))
	}
	if n != postings || len(s.idx.owners) != len(s.files) || len(s.idx.bySeq) != len(s.files) {
		t.Fatalf("index holds %d postings and %d owners, the lists %d and %d", n, len(s.idx.owners), postings, len(s.files))
	}
}

// TestIndexRandom plays random operations and checks the index against
// the lists after each burst, and after a restart.
func TestIndexRandom(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	r := rand.New(rand.NewPCG(1, 2))
	users := []string{"a", "b", "c", "d", "e"}
	for _, u := range users {
		s.Register(u)
	}
	published := map[string][]string{}
	for round := range 60 {
		for range 40 {
			u := users[r.IntN(len(users))]
			switch k := r.IntN(20); {
			case k == 0:
				s.Disconnect(u)
				published[u] = nil
			case k == 1:
				s.Unregister(u)
				s.Register(u)
				published[u] = nil
			case k < 4:
				s.Connect(u, "10.0.0.1", "1")
			case k < 8 && len(published[u]) > 0:
				i := r.IntN(len(published[u]))
				s.Delete(u, published[u][i])
				published[u] = append(published[u][:i], published[u][i+1:]...)
			default:
				f := fmt.Sprintf("%s %d", randomText(r), round)
				if s.Publish(u, f, randomText(r)) == wire.OK {
					published[u] = append(published[u], f)
				}
			}
		}
		checkIndex(t, s.Store)
	}
	// Long postings: one word in hundreds of files of several owners.
	for _, u := range users {
		s.Connect(u, "10.0.0.1", "1")
		for i := range 150 {
			s.Publish(u, fmt.Sprintf("bulk %d", i), randomText(r))
		}
	}
	checkIndex(t, s.Store)
	for _, u := range users {
		for i := 0; i < 150; i += 3 {
			s.Delete(u, fmt.Sprintf("bulk %d", i))
		}
	}
	checkIndex(t, s.Store)
	s.Disconnect("c")
	checkIndex(t, s.Store)
	s.Close()
	s = open(t, dir, nil)
	defer s.Close()
	checkIndex(t, s.Store)
}

// TestIndexRollback: changes of a batch that cannot be written (and of
// those queued behind it) are undone in the index too.
func TestIndexRollback(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	defer s.Close()
	for _, u := range []string{"a", "b", "c", "d"} {
		expect(t, "register", s.Register(u), wire.OK)
		expect(t, "connect", s.Connect(u, "10.0.0.1", "1"), wire.OK)
		for i := range 5 {
			expect(t, "publish", s.Publish(u, fmt.Sprintf("%s song %d.mp3", u, i), "live MIX"), wire.OK)
		}
	}
	expect(t, "register e", s.Register("e"), wire.OK)
	s.mu.Lock()
	before := s.idx.search([]string{"song"}, 1<<30)
	s.mu.Unlock()
	checkIndex(t, s.Store)

	// Break every file the operations write.
	files := filepath.Join(dir, FilesDir)
	os.Rename(files, files+".away")
	os.WriteFile(files, []byte("not a folder"), 0o644)
	conn := filepath.Join(dir, ConnectedFile)
	os.Rename(conn, conn+".away")
	os.Mkdir(conn, 0o755)
	users := filepath.Join(dir, UsersFile)
	os.Rename(users, users+".away")
	os.Mkdir(users, 0o755)

	var wg sync.WaitGroup
	for _, f := range []func() wire.Outcome{
		func() wire.Outcome { return s.Publish("a", "new song", "") },
		func() wire.Outcome { return s.Delete("b", "b song 2.mp3") },
		func() wire.Outcome { return s.Disconnect("c") },
		func() wire.Outcome { return s.Unregister("d") },
		func() wire.Outcome { return s.Connect("e", "10.0.0.5", "5") },
		func() wire.Outcome { return s.Delete("a", "a song 0.mp3") },
		func() wire.Outcome { return s.Publish("b", "b song 9.mp3", "other") },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o := f(); o != wire.Failed {
				t.Errorf("a change with the folder broken: %v", o)
			}
		}()
	}
	wg.Wait()
	checkIndex(t, s.Store)
	s.mu.Lock()
	after := s.idx.search([]string{"song"}, 1<<30)
	s.mu.Unlock()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("failed changes left a trace:\nbefore %v\nafter  %v", before, after)
	}
	os.Remove(users)
	os.Rename(users+".away", users)
	os.Remove(conn)
	os.Rename(conn+".away", conn)
	os.Remove(files)
	os.Rename(files+".away", files)
	expect(t, "publish once repaired", s.Publish("a", "new song", ""), wire.OK)
	expect(t, "disconnect once repaired", s.Disconnect("c"), wire.OK)
	checkIndex(t, s.Store)
}

// TestIndexSearchStoresConcurrent: SEARCHes of two stores at once (each
// under its own lock) share no state: the race detector sees no race.
func TestIndexSearchStoresConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 2 {
		s := open(t, t.TempDir(), nil)
		defer s.Close()
		expect(t, "register", s.Register("a"), wire.OK)
		expect(t, "connect", s.Connect("a", "10.0.0.1", "1"), wire.OK)
		expect(t, "publish", s.Publish("a", fmt.Sprintf("song%d.mp3", i), "live"), wire.OK)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if _, err := s.d.Search(bg, "a", "mp3 live"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
