package shell

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completions runs the completer on typed (the cursor at its end) and
// returns the candidates and the length it says was typed.
func completions(c completer, typed string) ([]string, int) {
	got, n := c.Do([]rune(typed), len([]rune(typed)))
	var s []string
	for _, g := range got {
		s = append(s, string(g))
	}
	return s, n
}

func checkCompletions(t *testing.T, c completer, cases map[string]string) {
	t.Helper()
	for typed, want := range cases {
		got, _ := completions(c, typed)
		if strings.Join(got, "|") != want {
			t.Errorf("%q completes to %q, want %q", typed, got, want)
		}
	}
}

func TestCompleterNames(t *testing.T) {
	dir := t.TempDir()
	n := newNames(dir)
	c := completer{n}
	var users nameList
	for _, u := range []string{"alice", "albert", "bob", "has space", "esc\x1b[2J", "bad\xff", "ñandú"} {
		users.add(u)
	}
	n.setUsers(&users)
	files := n.newFileBatch()
	for _, f := range []string{"song.mp3", "song.ogg", "notes.txt", "two words.txt", "ctl\x07"} {
		files.add("bob", f)
	}
	n.setFiles("bob", files)
	found := n.newFileBatch()
	found.add("carol", "sonata.flac")
	found.add("bob", "solo.wav")
	n.addFiles(found)

	checkCompletions(t, c, map[string]string{
		// Usernames after the commands that name a user; never the
		// names that cannot be typed as one word or would drive the
		// terminal.
		"CONNECT al":      "bert |ice ",
		"disconnect b":    "ob ",
		"UNREGISTER ñ":    "andú ",
		"LIST_CONTENT ":   "albert |alice |bob |carol |ñandú ", // carol: an owner SEARCH showed
		"GET_FILE a":      "lbert |lice ",
		"  get_file   bo": "b ",
		"REGISTER a":      "", // a new name: nothing to offer
		"CONNECT alice ":  "", // past the last argument
		"LIST_USERS ":     "",
		"FROB a":          "",
		// Remote files of the user named: the last LIST_CONTENT's plus
		// what SEARCH showed since.
		"GET_FILE bob so":     "lo.wav |ng.mp3 |ng.ogg ",
		"GET_FILE bob song.m": "p3 ",
		"GET_FILE carol ":     "sonata.flac ",
		"GET_FILE nobody ":    "",
		"GET_FILE bob n":      "otes.txt ",
		"GET_FILE bob two":    "",
		"GET_FILE bob c":      "",
	})
	// A later LIST_CONTENT of bob replaces what was known of bob.
	files = n.newFileBatch()
	files.add("bob", "new.txt")
	n.setFiles("bob", files)
	checkCompletions(t, c, map[string]string{"GET_FILE bob ": "new.txt ", "GET_FILE carol s": "onata.flac "})
	if n.nfiles != 2 {
		t.Errorf("nfiles = %d, want 2", n.nfiles)
	}
	// An empty LIST_CONTENT forgets the user's files.
	n.setFiles("bob", n.newFileBatch())
	checkCompletions(t, c, map[string]string{"GET_FILE bob ": ""})

	// What was typed is counted in runes.
	if _, l := completions(c, "CONNECT ñan"); l != 3 {
		t.Errorf("typed length %d, want 3", l)
	}
	// Command words as before, in the case typed.
	checkCompletions(t, c, map[string]string{"LIST_": "USERS |CONTENT ", "get": "_file ", "se": "arch ", "ñ": ""})
}

func TestCompleterOwnUsersAndListFile(t *testing.T) {
	w := newWorld(t)
	a, b := w.client("alice"), w.client("bob")
	b.do("REGISTER bob", "REGISTER OK")
	b.do("CONNECT bob", "CONNECT OK")
	c := completer{a.sh.names}
	// The last user named is offered before any list.
	a.do("REGISTER alice", "REGISTER OK")
	checkCompletions(t, c, map[string]string{"CONNECT ": "alice "})
	a.do("CONNECT alice", "CONNECT OK")
	a.write("song.mp3", nil)
	a.do("PUBLISH song.mp3 a song", "PUBLISH OK")
	a.do("PUBLISH sonnet.txt a poem", "PUBLISH OK")
	checkCompletions(t, c, map[string]string{"DELETE so": "ng.mp3 |nnet.txt "})
	a.do("LIST_USERS", "LIST_USERS OK", `\tbob .*`, `\talice .*`)
	checkCompletions(t, c, map[string]string{"GET_FILE ": "alice |bob "})

	// A new session in the same folder: the users of the JSON file the
	// last LIST_USERS wrote, for the user named.
	a2 := New(Config{Server: w.srv.Addr().String(), Clock: a.sh.cfg.Clock, Dir: a.dir})
	c2 := completer{a2.names}
	checkCompletions(t, c2, map[string]string{"GET_FILE ": ""})
	a2.named = "alice"
	a2.syncNames()
	checkCompletions(t, c2, map[string]string{"GET_FILE b": "ob ", "CONNECT ": "alice |bob "})
	// A LIST_CONTENT feeds the remote file names.
	b.do("PUBLISH b.txt x", "PUBLISH OK")
	a.do("LIST_CONTENT bob", "LIST_CONTENT OK", `\tb\.txt "x"`)
	checkCompletions(t, c, map[string]string{"GET_FILE bob ": "b.txt "})
	a.do("SEARCH song", "SEARCH OK", `\talice song\.mp3 "a song"`)
	checkCompletions(t, c, map[string]string{"GET_FILE alice ": "song.mp3 "})
	// DISCONNECT: no published list any more.
	a.do("DISCONNECT alice", "DISCONNECT OK")
	checkCompletions(t, c, map[string]string{"DELETE ": ""})
}

func TestCompleterLocalNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"song.mp3", "song.ogg", "sub/inner.txt", "sub/deeper/x", ".hidden", "with space.txt", "ctl\x1b.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	os.Symlink("sub", filepath.Join(dir, "link"))
	abs := t.TempDir()
	os.WriteFile(filepath.Join(abs, "far.bin"), nil, 0o644)
	c := completer{newNames(dir)}
	checkCompletions(t, c, map[string]string{
		"PUBLISH so":                  "ng.mp3 |ng.ogg ",
		"PUBLISH s":                   "ong.mp3 |ong.ogg |ub/",
		"PUBLISH ":                    "link/|song.mp3 |song.ogg |sub/", // no hidden, spaced or unsafe names
		"PUBLISH .":                   "hidden ",
		"PUBLISH sub/":                "deeper/|inner.txt ",
		"PUBLISH sub/i":               "nner.txt ",
		"PUBLISH link/d":              "eeper/",
		"PUBLISH sub/deeper/":         "x ",
		"PUBLISH nothere/":            "",
		"PUBLISH " + abs + "/f":       "ar.bin ",
		"PUBLISH song.mp3 ":           "", // the description
		"GET_FILE bob song.mp3 so":    "ng.mp3 |ng.ogg ",
		"GET_FILE bob song.mp3 sub/i": "nner.txt ",
	})
}

// TestCompleterBounded: completion keeps at most maxNames names of each
// kind, whatever the lists announce.
func TestCompleterBounded(t *testing.T) {
	n := newNames(t.TempDir())
	var users nameList
	files := n.newFileBatch()
	for i := range maxNames + 500 {
		users.add(fmt.Sprintf("u%06d", i))
		files.add(fmt.Sprintf("u%d", i%7), fmt.Sprintf("f%06d", i))
	}
	n.setUsers(&users)
	n.addFiles(files)
	more := n.newFileBatch()
	more.add("x", "y")
	n.addFiles(more)
	if len(n.users) != maxNames || n.nfiles != maxNames {
		t.Errorf("kept %d users, %d files; want %d", len(n.users), n.nfiles, maxNames)
	}
	if got := n.userNames(); !slices.Contains(got, "u000000") || slices.Contains(got, fmt.Sprintf("u%06d", maxNames)) {
		t.Error("not the first names kept")
	}
	// A LIST_CONTENT that replaces a user's files makes room again.
	n.setFiles("u0", n.newFileBatch())
	n.addFiles(more)
	if got := n.remoteFiles("x"); len(got) != 1 {
		t.Errorf("no room after a replace: %q", got)
	}
}
