package storetest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// The SEARCH cases (PROTOCOL.md §2, "SEARCH (extension)").

func search(u, words string) op {
	return op{"SEARCH " + u + " " + words, func(d *directory.Directory) error { _, err := d.Search(bg, u, words); return err }}
}

// found returns what SEARCH answers u for words.
func (e *env) found(u, words string) []wire.SearchRecord {
	e.t.Helper()
	recs, err := e.d.Search(bg, u, words)
	if err != nil {
		e.t.Fatalf("SEARCH %s %q: %v", u, words, err)
	}
	if recs == nil {
		e.t.Fatalf("SEARCH %s %q: nil, want a list", u, words)
	}
	return recs
}

// hits shows search records as "owner/filename" separated by spaces.
func hits(recs []wire.SearchRecord) string {
	var b []string
	for _, r := range recs {
		b = append(b, r.Username+"/"+r.Filename)
	}
	return strings.Join(b, " ")
}

// testSearchStatusCodes: every code of SEARCH, and the invalid words
// fields (no word, too long), which get the last code before the
// requester is checked.
func testSearchStatusCodes(t *testing.T, e *env) {
	e.want(search("u", "song"), directory.ErrUserNotFound)
	e.ok(register("u"))
	e.want(search("u", "song"), directory.ErrNotConnected)
	e.ok(connect("u", "10.0.0.1", "1"))
	if got := e.found("u", "song"); len(got) != 0 {
		t.Errorf("SEARCH in an empty directory: %+v", got)
	}
	e.ok(publish("u", "song.mp3", "a song I like"))
	if got := e.found("u", "song"); len(got) != 1 || got[0] != (wire.SearchRecord{Username: "u", Filename: "song.mp3", Description: "a song I like"}) {
		t.Errorf("SEARCH song: %+v", got)
	}
	for _, words := range []string{"", " ", "..;;--__", "\"'\t\r\n", "\x01\x7f", strings.Repeat("a", wire.MaxValueLen+1)} {
		for _, u := range []string{"u", "nobody"} {
			e.want(search(u, words), directory.ErrInvalid)
		}
	}
	for _, u := range []string{"", "..", "a/b", "a\nb"} {
		e.want(search(u, "song"), directory.ErrInvalid)
	}
	e.ok(disconnect("u"))
	e.want(search("u", "song"), directory.ErrNotConnected)
	e.ok(unregister("u"))
	e.want(search("u", "song"), directory.ErrUserNotFound)
	for o, want := range map[wire.Outcome]wire.Status{wire.OK: 0, wire.UserNotFound: 1, wire.NotConnected: 2, wire.Failed: 3} {
		if got := wire.StatusFor(wire.Search, o); got != want {
			t.Errorf("SEARCH code for %v: %d, want %d", o, got, want)
		}
	}
	if got := wire.StatusFor(wire.Search, directory.OutcomeOf(directory.ErrInvalid)); got != 3 {
		t.Errorf("SEARCH code of an invalid field: %d, want 3", got)
	}
}

// testSearchWords: what a word is, and when a file matches.
func testSearchWords(t *testing.T, e *env) {
	e.ok(register("a"), connect("a", "10.0.0.1", "1"))
	files := []struct{ name, desc string }{
		{"Song.MP3", "a song I like"},
		{"track_01-final;mix.ogg", `"live" at the Club`},
		{"ñandú.flac", "canción ÑANDÚ 1999"},
		{"song", ""},
		{"x", "song.mp3 Tags:rock,POP"},
		{"\xff\xferaw", "bytes"},
		{"AÑo", ""},
	}
	for _, f := range files {
		e.ok(publish("a", f.name, f.desc))
	}
	cases := []struct{ words, want string }{
		{"song", "a/Song.MP3 a/song a/x"},
		{"SONG", "a/Song.MP3 a/song a/x"},
		{"mp3 SONG", "a/Song.MP3 a/x"},
		{"song song Song", "a/Song.MP3 a/song a/x"},
		{"son", ""},
		{"song.mp3", "a/Song.MP3 a/x"},        // the query's words: song, mp3
		{"song like", "a/Song.MP3"},           // filename and description together
		{"like I A", "a/Song.MP3"},            // one-letter words
		{"track", "a/track_01-final;mix.ogg"}, // _ separates
		{"01", "a/track_01-final;mix.ogg"},    // digits
		{"1", ""},                             // a whole word, not a part
		{"final mix ogg", "a/track_01-final;mix.ogg"},
		{"live", "a/track_01-final;mix.ogg"}, // " separates
		{`"live"`, "a/track_01-final;mix.ogg"},
		{"club LIVE", "a/track_01-final;mix.ogg"},
		{"ñandú", "a/ñandú.flac"}, // UTF-8 bytes are letters
		{"ÑANDÚ", "a/ñandú.flac"}, // ... but only ASCII folds: this is the description's word
		{"Ñandú", ""},             // neither ñandú nor ÑANDÚ
		{"canción 1999", "a/ñandú.flac"},
		{"flac", "a/ñandú.flac"},
		{"tags rock pop", "a/x"},         // : and , separate
		{"\xff\xfeRAW", "a/\xff\xferaw"}, // any byte 0x80..0xFF is a letter
		{"año", ""},                      // AÑo folds to aÑo
		{"aÑo", "a/AÑo"},
		{"song nothing", ""},
		{"nothing", ""},
	}
	for _, c := range cases {
		if got := hits(e.found("a", c.words)); got != c.want {
			t.Errorf("SEARCH %q: %q, want %q", c.words, got, c.want)
		}
	}
}

// testSearchOrder: owners in LIST_USERS order, each owner's files in
// publishing order, the requester's own included; a file deleted and
// published again goes to the end of its owner's; an owner who
// reconnects goes to the end, with an empty list.
func testSearchOrder(t *testing.T, e *env) {
	for _, u := range []string{"c", "a", "b"} {
		e.ok(register(u))
	}
	e.ok(connect("b", "10.0.0.2", "2"), connect("a", "10.0.0.1", "1"), connect("c", "10.0.0.3", "3"))
	e.ok(publish("c", "c1 song", ""), publish("a", "a1 song", ""), publish("b", "b1 song", ""),
		publish("a", "a2 song", ""), publish("b", "b2", "song"), publish("c", "c2 song", ""),
		publish("a", "a3", "other"), publish("b", "b3 song", ""))
	want := "b/b1 song b/b2 b/b3 song a/a1 song a/a2 song c/c1 song c/c2 song"
	if got := hits(e.found("a", "song")); got != want {
		t.Errorf("order:\n got %q\nwant %q", got, want)
	}
	if got := names(e.users("a")); got != "b a c" {
		t.Fatalf("LIST_USERS %q", got)
	}
	e.ok(del("b", "b1 song"), publish("b", "b1 song", "again"))
	want = "b/b2 b/b3 song b/b1 song a/a1 song a/a2 song c/c1 song c/c2 song"
	got := e.found("c", "SONG")
	if hits(got) != want {
		t.Errorf("after re-publishing b1:\n got %q\nwant %q", hits(got), want)
	}
	if got[2].Description != "again" {
		t.Errorf("re-published record %+v", got[2])
	}
	e.ok(disconnect("b"), connect("b", "10.0.0.2", "2"), publish("b", "b4 song", ""))
	want = "a/a1 song a/a2 song c/c1 song c/c2 song b/b4 song"
	if got := hits(e.found("b", "song")); got != want {
		t.Errorf("after b reconnects:\n got %q\nwant %q", got, want)
	}
	// A DELETE removes the file from every word it held.
	e.ok(del("a", "a2 song"))
	for _, q := range []string{"a2", "a2 song", "song a2"} {
		if got := e.found("a", q); len(got) != 0 {
			t.Errorf("SEARCH %q after DELETE: %+v", q, got)
		}
	}
}

// testSearchOffline: content is found only while its owner is online:
// owners who disconnect or unregister vanish from the results.
func testSearchOffline(t *testing.T, e *env) {
	for _, u := range []string{"a", "b", "c"} {
		e.ok(register(u), connect(u, "10.0.0.1", "1"), publish(u, u+".txt", "shared words"))
	}
	if got := hits(e.found("a", "shared")); got != "a/a.txt b/b.txt c/c.txt" {
		t.Fatalf("all online: %q", got)
	}
	e.ok(disconnect("b"))
	if got := hits(e.found("a", "shared")); got != "a/a.txt c/c.txt" {
		t.Errorf("b disconnected: %q", got)
	}
	e.ok(unregister("c"))
	if got := hits(e.found("a", "shared words")); got != "a/a.txt" {
		t.Errorf("c unregistered: %q", got)
	}
	e.ok(register("c"), connect("c", "10.0.0.3", "3"), connect("b", "10.0.0.2", "2"))
	if got := hits(e.found("a", "shared")); got != "a/a.txt" {
		t.Errorf("b and c back, with empty lists: %q", got)
	}
	if got := e.found("b", "b"); len(got) != 0 {
		t.Errorf("b's old file after reconnecting: %+v", got)
	}
	e.ok(publish("c", "c.txt", "shared"))
	if got := hits(e.found("c", "shared")); got != "a/a.txt c/c.txt" {
		t.Errorf("c publishes again: %q", got)
	}
}

// testSearchCap: at most MaxSearchResults records, the first ones in
// §2's order.
func testSearchCap(t *testing.T, e *env) {
	const users, each = 24, 50 // 1200 matches
	if users*each <= directory.MaxSearchResults {
		t.Fatal("the case must have more matches than the cap")
	}
	ds := e.directories(4)
	for i := range users {
		u := fmt.Sprintf("u%02d", i)
		e.ok(register(u), connect(u, "10.0.0.1", "1"))
	}
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("u%02d", i)
			for k := range each {
				if err := ds[i%len(ds)].Publish(bg, u, fmt.Sprintf("f%02d.txt", k), "match"); err != nil {
					t.Errorf("PUBLISH %s: %v", u, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := e.found("u00", "match")
	if len(got) != directory.MaxSearchResults {
		t.Fatalf("%d records, want %d", len(got), directory.MaxSearchResults)
	}
	for i, r := range got {
		if want := fmt.Sprintf("u%02d/f%02d.txt", i/each, i%each); r.Username+"/"+r.Filename != want {
			t.Fatalf("record %d is %s/%s, want %s", i, r.Username, r.Filename, want)
		}
	}
	// A query the cap does not reach comes whole.
	if got := e.found("u00", "match f07"); len(got) != users {
		t.Errorf("SEARCH match f07: %d records, want %d", len(got), users)
	}
}

// testSearchRestart: a restarted store answers the same (its index, if
// any, rebuilt), and goes on in order.
func testSearchRestart(t *testing.T, e *env) {
	e.ok(register("a"), register("b"), register("x"),
		connect("b", "10.0.0.2", "2"), connect("a", "10.0.0.1", "1"), connect("x", "10.0.0.9", "9"),
		publish("a", "Song One.mp3", "rock"), publish("b", "song two.MP3", ""), publish("a", "other", "song"),
		publish("a", "gone.mp3", "song"), del("a", "gone.mp3"), publish("x", "x song", ""), disconnect("x"))
	want := "b/song two.MP3 a/Song One.mp3 a/other"
	if got := hits(e.found("a", "song")); got != want {
		t.Fatalf("before restart: %q", got)
	}
	e.restart()
	if got := hits(e.found("a", "song")); got != want {
		t.Errorf("after restart: %q, want %q", got, want)
	}
	if got := hits(e.found("b", "mp3 SONG")); got != "b/song two.MP3 a/Song One.mp3" {
		t.Errorf("after restart, two words: %q", got)
	}
	if got := e.found("a", "gone"); len(got) != 0 {
		t.Errorf("a deleted file after restart: %+v", got)
	}
	e.ok(publish("b", "three", "song"), connect("x", "10.0.0.9", "9"), publish("x", "song x", ""), del("a", "Song One.mp3"))
	if got := hits(e.found("x", "song")); got != "b/song two.MP3 b/three a/other x/song x" {
		t.Errorf("changes after restart: %q", got)
	}
}

// testSearchConcurrent: SEARCH while other clients PUBLISH and DELETE
// (over several stores when they can share a state) never gives a torn
// answer (a file half indexed, owners or files out of order) nor a stale
// one (a file whose DELETE was acknowledged before the SEARCH was sent,
// or missing one whose PUBLISH was).
func testSearchConcurrent(t *testing.T, e *env) {
	const writers = 6
	const rounds = 30
	ds := e.directories(writers + 1)
	e.ok(register("reader"), connect("reader", "10.0.1.1", "1"))
	for w := range writers {
		u := fmt.Sprintf("w%d", w)
		e.ok(register(u), connect(u, "10.0.0.1", "1"))
	}
	// A logical clock orders the events: each stamp is taken before a
	// request is sent or after its answer came.
	var clock atomic.Int64
	type life struct{ pubSent, pubDone, delSent, delDone int64 } // 0: not yet
	var mu sync.Mutex
	lives := map[string]*life{} // "owner/filename"
	stamp := func(set func(l *life, now int64), name string) {
		now := clock.Add(1)
		mu.Lock()
		if lives[name] == nil {
			lives[name] = &life{}
		}
		set(lives[name], now)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, u := ds[w], fmt.Sprintf("w%d", w)
			for k := range rounds {
				f := fmt.Sprintf("f%03d common.txt", k)
				name := u + "/" + f
				stamp(func(l *life, now int64) { l.pubSent = now }, name)
				if err := d.Publish(bg, u, f, "Shared Words "+u); err != nil {
					t.Errorf("PUBLISH %s: %v", name, err)
					return
				}
				stamp(func(l *life, now int64) { l.pubDone = now }, name)
				if k%3 != 2 {
					continue // keep one file of three
				}
				stamp(func(l *life, now int64) { l.delSent = now }, name)
				if err := d.Delete(bg, u, f); err != nil {
					t.Errorf("DELETE %s: %v", name, err)
					return
				}
				stamp(func(l *life, now int64) { l.delDone = now }, name)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	reader := ds[writers]
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		sent := clock.Add(1)
		recs, err := reader.Search(bg, "reader", "COMMON words shared")
		answered := clock.Add(1)
		if err != nil {
			t.Fatalf("SEARCH: %v", err)
		}
		mu.Lock()
		in := map[string]bool{}
		for i, r := range recs {
			name := r.Username + "/" + r.Filename
			l := lives[name]
			switch {
			case l == nil || l.pubSent == 0 || l.pubSent > answered:
				t.Errorf("SEARCH shows %s, not yet published", name)
			case l.delDone != 0 && l.delDone < sent:
				t.Errorf("SEARCH shows %s, deleted before it was sent", name)
			case r.Description != "Shared Words "+r.Username:
				t.Errorf("SEARCH shows %s with description %q", name, r.Description)
			}
			if i > 0 {
				// Owners connected in order w0..w5; files numbered in
				// publishing order.
				if p := recs[i-1]; p.Username > r.Username || p.Username == r.Username && p.Filename >= r.Filename {
					t.Errorf("SEARCH order: %s/%s before %s", p.Username, p.Filename, name)
				}
			}
			in[name] = true
		}
		for name, l := range lives {
			if l.pubDone != 0 && l.pubDone < sent && (l.delSent == 0 || l.delSent > answered) && !in[name] {
				t.Errorf("SEARCH misses %s, published before it was sent and not deleted", name)
			}
		}
		mu.Unlock()
		if t.Failed() {
			return
		}
	}
	if got := e.found("reader", "common"); len(got) != writers*rounds/3*2 {
		t.Errorf("%d files at the end, want %d", len(got), writers*rounds/3*2)
	}
}
