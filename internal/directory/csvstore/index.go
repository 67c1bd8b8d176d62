package csvstore

import (
	"slices"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// index is the inverted index SEARCH answers from: for each word (as
// directory.Words splits and folds it), the published files that hold it,
// as postings sorted by key. A key is the owner's connection number (high
// 32 bits) and the file's publishing number within that connection (low 32
// bits), so key order is §2's order: owners in the order they connected
// (LIST_USERS), each owner's files in publishing order. A SEARCH walks the
// postings of its rarest word in that order and keeps those whose key is
// in the postings of every other word, stopping at the limit: its cost is
// that of the rarest word's postings it reads, never a scan of all files.
//
// The index changes under the store's lock with the memory it indexes
// (PUBLISH, DELETE, CONNECT, DISCONNECT, UNREGISTER), and each change
// returns what its undo needs, so that a failed batch rolls the index back
// with the lists (see ops.go). The load rebuilds it (build).
//
// Memory: one posting (16 bytes) per distinct word of each file, in chunks
// of at most maxChunk, plus one map entry per distinct word and one per
// connected user.
type index struct {
	off    bool // no index: Search scans every list (the benchmarks' baseline)
	words  map[string]*postings
	owners map[string]*owner // connected users
	bySeq  map[uint32]string // connection number -> user
	seq    uint32            // the last connection number given
}

// owner is a connected user's numbering.
type owner struct {
	seq  uint32 // connection number
	next uint32 // publishing number of the next file
}

// posting is one published file holding a word.
type posting struct {
	key  uint64
	file *node[string] // the file's node in its owner's list
}

// postings are one word's postings, sorted by key, in chunks that each
// hold at most maxChunk (so an insert or removal moves at most that many,
// however common the word).
type postings struct {
	n      int
	chunks [][]posting
}

const maxChunk = 128

func newIndex(off bool) *index {
	return &index{off: off, words: make(map[string]*postings), owners: make(map[string]*owner), bySeq: make(map[uint32]string)}
}

func key(o *owner, pub uint32) uint64 { return uint64(o.seq)<<32 | uint64(pub) }

// fileWords are the words a file holds.
func fileWords(n *node[string]) []string { return directory.Words(n.key, n.val) }

// buildIndex indexes what was loaded: the connected users in connection
// order, each one's files in publishing order (every posting lands at the
// end of its list).
func (s *Store) buildIndex() {
	s.conns.each(func(u string, _ addr) {
		s.idx.addOwner(u)
		list := s.files[u]
		for n := list.root.next; n != &list.root; n = n.next {
			s.idx.addFile(u, n)
		}
	})
}

// addOwner numbers user as the newest connection.
func (x *index) addOwner(user string) {
	if x.off {
		return
	}
	x.seq++
	x.owners[user] = &owner{seq: x.seq}
	x.bySeq[x.seq] = user
}

// dropOwner removes user and the postings of its list, and returns the
// function that puts both back exactly (the undo of a DISCONNECT or
// UNREGISTER, or of a CONNECT when list is empty).
func (x *index) dropOwner(user string, list *omap[string]) (undo func()) {
	o := x.owners[user]
	if x.off || o == nil {
		return func() {}
	}
	type removed struct {
		word  string
		posts []posting
	}
	var gone []removed
	lo, hi := key(o, 0), key(o, 0)+1<<32
	seen := make(map[string]bool)
	list.each(func(f, d string) {
		for _, w := range directory.Words(f, d) {
			if seen[w] {
				continue
			}
			seen[w] = true
			if p := x.words[w]; p != nil {
				gone = append(gone, removed{w, p.removeRange(lo, hi)})
				if p.n == 0 {
					delete(x.words, w)
				}
			}
		}
	})
	delete(x.owners, user)
	delete(x.bySeq, o.seq)
	return func() {
		x.owners[user] = o
		x.bySeq[o.seq] = user
		for _, r := range gone {
			p := x.list(r.word)
			for _, q := range r.posts {
				p.insert(q)
			}
		}
	}
}

// list returns w's postings, created empty when missing. A new word is
// copied: the key must not keep a whole filename alive.
func (x *index) list(w string) *postings {
	p := x.words[w]
	if p == nil {
		p = &postings{}
		x.words[string([]byte(w))] = p
	}
	return p
}

// addFile indexes n, just published by user, as user's newest file and
// returns its key.
func (x *index) addFile(user string, n *node[string]) uint64 {
	if x.off {
		return 0
	}
	o := x.owners[user]
	k := key(o, o.next)
	o.next++
	x.putFile(n, k)
	return k
}

// putFile indexes n under key k (a new file, or the undo of a DELETE).
func (x *index) putFile(n *node[string], k uint64) {
	if x.off {
		return
	}
	for _, w := range fileWords(n) {
		x.list(w).insert(posting{k, n})
	}
}

// removeFile drops the postings of n, a file of user, and returns its
// key for the undo (putFile).
func (x *index) removeFile(user string, n *node[string]) uint64 {
	if x.off {
		return 0
	}
	o := x.owners[user]
	lo := key(o, 0)
	var k uint64
	found := false
	for _, w := range fileWords(n) {
		p := x.words[w]
		if p == nil {
			continue
		}
		if !found {
			// The file's key: the posting of n among user's postings.
			if k, found = p.keyOf(n, lo, lo+1<<32); !found {
				continue
			}
		}
		p.remove(k)
		if p.n == 0 {
			delete(x.words, w)
		}
	}
	return k
}

// search returns the files holding every one of words, in key order, at
// most limit.
func (x *index) search(words []string, limit int) []wire.SearchRecord {
	lists := make([]*postings, 0, len(words))
	for _, w := range words {
		p := x.words[w]
		if p == nil {
			return nil // no file holds w
		}
		lists = append(lists, p)
	}
	// The rarest word first: its postings are the candidates; the others
	// are probed, the next rarest first (it rejects the most).
	slices.SortFunc(lists, func(a, b *postings) int { return a.n - b.n })
	var recs []wire.SearchRecord
	for _, c := range lists[0].chunks {
	next:
		for _, q := range c {
			for _, p := range lists[1:] {
				if !p.has(q.key) {
					continue next
				}
			}
			recs = append(recs, wire.SearchRecord{Username: x.bySeq[uint32(q.key>>32)], Filename: q.file.key, Description: q.file.val})
			if len(recs) >= limit {
				return recs
			}
		}
	}
	return recs
}

// locate returns the chunk that holds key, or would: the first whose last
// key is ≥ key, else the last chunk; and the position of the first posting
// with a key ≥ key in it. Chunks are never empty.
func (p *postings) locate(k uint64) (ci, i int) {
	ci, _ = slices.BinarySearchFunc(p.chunks, k, func(c []posting, k uint64) int {
		if last := c[len(c)-1].key; last < k {
			return -1
		} else if last > k {
			return 1
		}
		return 0
	})
	if ci == len(p.chunks) {
		if ci == 0 {
			return 0, 0
		}
		ci--
	}
	i, _ = slices.BinarySearchFunc(p.chunks[ci], k, cmpKey)
	return ci, i
}

func cmpKey(q posting, k uint64) int {
	switch {
	case q.key < k:
		return -1
	case q.key > k:
		return 1
	}
	return 0
}

// has reports whether a posting with key k is in p.
func (p *postings) has(k uint64) bool {
	if p.n == 0 {
		return false
	}
	ci, i := p.locate(k)
	c := p.chunks[ci]
	return i < len(c) && c[i].key == k
}

// insert adds q (whose key is not in p yet) in key order.
func (p *postings) insert(q posting) {
	p.n++
	if len(p.chunks) == 0 {
		p.chunks = [][]posting{{q}}
		return
	}
	ci, i := p.locate(q.key)
	c := slices.Insert(p.chunks[ci], i, q)
	if len(c) <= maxChunk {
		p.chunks[ci] = c
		return
	}
	// Split: the upper half gets a chunk of its own.
	half := len(c) / 2
	upper := make([]posting, len(c)-half, maxChunk)
	copy(upper, c[half:])
	clear(c[half:])
	p.chunks[ci] = c[:half]
	p.chunks = slices.Insert(p.chunks, ci+1, upper)
}

// remove drops the posting with key k, which is in p.
func (p *postings) remove(k uint64) {
	ci, i := p.locate(k)
	p.n--
	c := slices.Delete(p.chunks[ci], i, i+1)
	if len(c) == 0 {
		p.chunks = slices.Delete(p.chunks, ci, ci+1)
		return
	}
	p.chunks[ci] = c
}

// removeRange drops the postings with keys in [lo, hi) and returns them.
func (p *postings) removeRange(lo, hi uint64) []posting {
	var out []posting
	for p.n > 0 {
		ci, i := p.locate(lo)
		c := p.chunks[ci]
		j := i
		for j < len(c) && c[j].key < hi {
			j++
		}
		if j == i {
			break
		}
		out = append(out, c[i:j]...)
		p.n -= j - i
		if c = slices.Delete(c, i, j); len(c) == 0 {
			p.chunks = slices.Delete(p.chunks, ci, ci+1)
		} else {
			p.chunks[ci] = c
		}
	}
	return out
}

// keyOf finds the posting of file n among the keys [lo, hi) (one owner's
// postings) and returns its key.
func (p *postings) keyOf(n *node[string], lo, hi uint64) (uint64, bool) {
	if p.n == 0 {
		return 0, false
	}
	ci, i := p.locate(lo)
	for ; ci < len(p.chunks); ci, i = ci+1, 0 {
		for _, q := range p.chunks[ci][i:] {
			if q.key >= hi {
				return 0, false
			}
			if q.file == n {
				return q.key, true
			}
		}
	}
	return 0, false
}
