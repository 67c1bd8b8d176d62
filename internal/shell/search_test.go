package shell

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"p2p/internal/wire"
)

// TestSearch runs SEARCH against a real central server: every status line
// of §2, the matches of every connected user (the requester's own too) in
// connection order, each line "\t<username> <filename> "<description>"".
func TestSearch(t *testing.T) {
	w := newWorld(t)
	a, b := w.client("alice"), w.client("bob")
	a.do("SEARCH song", "SEARCH FAIL") // no user named yet: an empty username
	a.do("UNREGISTER ghost", "USERNAME DOES NOT EXIST")
	a.do("SEARCH song", "SEARCH FAIL, USER DOES NOT EXIST")
	a.do("REGISTER alice", "REGISTER OK")
	a.do("search song", "SEARCH FAIL, USER NOT CONNECTED")
	a.do("CONNECT alice", "CONNECT OK")
	a.do("PUBLISH Song.MP3 the song of alice", "PUBLISH OK")
	a.do("PUBLISH notes.txt not a match", "PUBLISH OK")
	b.do("REGISTER bob", "REGISTER OK")
	b.do("CONNECT bob", "CONNECT OK")
	b.do(`PUBLISH song.mp3 a song I "like"`, "PUBLISH OK")
	b.do("PUBLISH other.ogg another SONG, mp3 too", "PUBLISH OK")

	b.do("SEARCH  mp3   song ", "SEARCH OK",
		q("\talice Song.MP3 \"the song of alice\""),
		q("\tbob song.mp3 \"a song I \"like\"\""),
		q("\tbob other.ogg \"another SONG, mp3 too\""))
	b.do("SEARCH son", "SEARCH OK")      // whole words only: no match
	b.do("SEARCH ;;; --", "SEARCH FAIL") // no word in it: invalid
	// The words are the rest of the line, up to 255 bytes: longer is
	// refused by the client, nothing sent.
	seen := w.console.String()
	b.doExactly("SEARCH "+strings.Repeat("w", 200)+" "+strings.Repeat("w", 55), "SEARCH FAIL")
	if w.console.String() != seen {
		t.Errorf("the central server saw %q", strings.TrimPrefix(w.console.String(), seen))
	}
	if !strings.Contains(b.err.String(), "SEARCH: the words are 256 bytes, the limit is 255 (nothing sent)") {
		t.Errorf("stderr: %s", b.err.String())
	}
	b.do("SEARCH "+strings.Repeat("w", 255), "SEARCH OK")
	// No words at all: a usage message, nothing sent.
	b.doExactly("SEARCH")
	b.doExactly("SEARCH   ")
	if !strings.Contains(b.err.String(), "usage: SEARCH <words, the rest of the line>") {
		t.Errorf("stderr: %s", b.err.String())
	}
	b.doExactly("HELP")
	if !strings.Contains(b.err.String(), "  SEARCH <words, the rest of the line>\n") {
		t.Errorf("HELP lacks SEARCH: %s", b.err.String())
	}
	// Once alice is gone, her files are not found.
	a.do("DISCONNECT alice", "DISCONNECT OK")
	b.do("SEARCH song", "SEARCH OK", q("\tbob song.mp3 \"a song I \"like\"\""), q("\tbob other.ogg \"another SONG, mp3 too\""))
}

// TestSearchValuesAndBadReplies: a SEARCH answer is shown through package
// show (another user cannot forge lines or drive the terminal); a reply
// cut short, or with a record that has no NUL, is SEARCH FAIL with no
// match printed; the announced count does not make the client hold the
// list in memory (it is spooled, as the other lists are).
func TestSearchValuesAndBadReplies(t *testing.T) {
	addr := fakeCentral(t, func(req wire.Request, c net.Conn) {
		if req.Op != wire.Search {
			c.Write([]byte("0"))
			return
		}
		switch req.Words {
		case "forged":
			b, _ := wire.AppendSearchList(nil, []wire.SearchRecord{{Username: "bob" + forged, Filename: "f" + forged, Description: forged}})
			c.Write(b)
		case "short":
			b, _ := wire.AppendSearchList(nil, []wire.SearchRecord{{Username: "bob", Filename: "a", Description: "b"}, {Username: "bob", Filename: "c", Description: "d"}})
			c.Write(b[:len(b)-1])
		case "nonul":
			b := binary.BigEndian.AppendUint32([]byte("0"), 1)
			b, _ = wire.AppendField(b, "bob", wire.NameSize)
			c.Write(append(b, strings.Repeat("x", 2*wire.NameSize)...))
		case "lying":
			b := binary.BigEndian.AppendUint32([]byte("0"), wire.MaxListRecords)
			rec, _ := wire.AppendSearchRecord(nil, wire.SearchRecord{Username: "bob", Filename: "a", Description: "b"})
			c.Write(append(b, rec...))
		}
	})
	c := fakeClient(t, addr)
	c.do("REGISTER alice", "REGISTER OK")
	c.do("SEARCH forged", "SEARCH OK", q("\tbob"+forgedShown+" f"+forgedShown+` "`+forgedShown+`"`))
	c.do("SEARCH short", "SEARCH FAIL")
	c.do("SEARCH nonul", "SEARCH FAIL")
	c.do("SEARCH lying", "SEARCH FAIL")
	if strings.ContainsAny(c.out.String()+c.err.String(), "\x1b\r\x07\xff\u009b") {
		t.Errorf("output holds a control character: %q %q", c.out.String(), c.err.String())
	}
	if !strings.Contains(c.err.String(), "SEARCH: central server") {
		t.Errorf("no reason on stderr: %q", c.err.String())
	}
}
