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
// postings of its rarest word in that order and keeps the files that hold
// every other word too (reading their own words: a file is at most two
// fields of 255 bytes), stopping at the limit: it costs what the rarest
// word's postings it reads cost, never a scan of all files.
//
// Each published file has an entry (its node in its owner's list, its key)
// in one table, and a posting is that entry's number: 4 bytes per distinct
// word of a file, with no pointer for the collector to scan, plus 16 per
// file for the entry. Postings are kept in chunks of at most maxChunk, so
// that an insert or a removal moves at most that many, however common the
// word.
//
// The index changes under the store's lock with the memory it indexes
// (PUBLISH, DELETE, CONNECT, DISCONNECT, UNREGISTER), and each change
// returns what its undo needs, so that a failed batch rolls the index back
// with the lists (see ops.go). The load rebuilds it (buildIndex).
type index struct {
	off    bool // no index: Search scans every list (the benchmarks' baseline)
	words  map[string]*postings
	owners map[string]*owner // connected users
	bySeq  map[uint32]string // connection number -> user
	seq    uint32            // the last connection number given
	ents   []entry           // by entry number
	free   []uint32          // entry numbers to reuse
	sink   byte              // keeps touch's loads from being optimized away
}

// owner is a connected user's numbering.
type owner struct {
	seq  uint32 // connection number
	next uint32 // publishing number of the next file
}

// entry is one published file.
type entry struct {
	file *node[string] // its node in its owner's list (nil: a free entry)
	key  uint64
}

// postings are one word's entries, sorted by key, in chunks.
type postings struct {
	n      int
	chunks []chunk
}

// chunk is a run of postings, never empty, and the key of its last one.
type chunk struct {
	last uint64
	ids  []uint32
}

const maxChunk = 128

func newIndex(off bool) *index {
	return &index{off: off, words: make(map[string]*postings), owners: make(map[string]*owner), bySeq: make(map[uint32]string)}
}

func key(o *owner, pub uint32) uint64 { return uint64(o.seq)<<32 | uint64(pub) }

// ownerRange is the keys of o's files: [lo, hi).
func ownerRange(o *owner) (lo, hi uint64) { return key(o, 0), key(o, 0) + 1<<32 }

// buildIndex indexes what was loaded: the connected users in connection
// order, each one's files in publishing order (every posting lands at the
// end of its list).
func (s *Store) buildIndex() {
	if s.idx.off {
		return
	}
	total := 0
	for _, list := range s.files {
		total += list.len()
	}
	s.idx.ents = make([]entry, 0, total)
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
// UNREGISTER, or of a CONNECT when the list is empty).
func (x *index) dropOwner(user string, list *fileList) (undo func()) {
	o := x.owners[user]
	if x.off || o == nil {
		return func() {}
	}
	var gone []entry
	for n := list.root.next; n != &list.root; n = n.next {
		gone = append(gone, entry{n, x.removeFile(user, n)})
	}
	delete(x.owners, user)
	delete(x.bySeq, o.seq)
	return func() {
		x.owners[user] = o
		x.bySeq[o.seq] = user
		for _, e := range gone {
			x.putFile(e.file, e.key)
		}
	}
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

// putFile indexes n under key k (a new file, or an undo).
func (x *index) putFile(n *node[string], k uint64) {
	if x.off {
		return
	}
	var id uint32
	if l := len(x.free); l > 0 {
		id, x.free = x.free[l-1], x.free[:l-1]
		x.ents[id] = entry{n, k}
	} else {
		id = uint32(len(x.ents))
		x.ents = append(x.ents, entry{n, k})
	}
	for _, w := range directory.Words(n.key, n.val) {
		p := x.words[w]
		if p == nil {
			p = &postings{}
			x.words[string([]byte(w))] = p // a copy: not a whole filename kept alive
		}
		x.insert(p, id, k)
	}
}

// removeFile drops the postings of n, a file of user, and returns its
// key for the undo (putFile).
func (x *index) removeFile(user string, n *node[string]) uint64 {
	if x.off {
		return 0
	}
	words := directory.Words(n.key, n.val)
	lists := make([]*postings, len(words))
	rarest := 0
	for i, w := range words {
		lists[i] = x.words[w]
		if lists[i].n < lists[rarest].n {
			rarest = i
		}
	}
	// The file's entry: among user's postings of its rarest word.
	lo, hi := ownerRange(x.owners[user])
	id, ok := x.find(lists[rarest], n, lo, hi)
	if !ok {
		panic("csvstore: index: a published file is not indexed")
	}
	k := x.ents[id].key
	for i, p := range lists {
		x.remove(p, k)
		if p.n == 0 {
			delete(x.words, words[i])
		}
	}
	x.ents[id] = entry{}
	x.free = append(x.free, id)
	return k
}

// search returns the files holding every one of words, in key order, at
// most limit.
func (x *index) search(words []string, limit int) []wire.SearchRecord {
	rarest := -1
	for i, w := range words {
		p := x.words[w]
		if p == nil {
			return nil // no file holds w
		}
		if rarest < 0 || p.n < x.words[words[rarest]].n {
			rarest = i
		}
	}
	others := slices.Delete(slices.Clone(words), rarest, rarest+1)
	recs := make([]wire.SearchRecord, 0, min(limit, x.words[words[rarest]].n))
	for _, c := range x.words[words[rarest]].chunks {
		x.sink ^= touch(x.ents, c.ids)
		for _, id := range c.ids {
			e := x.ents[id]
			if !directory.Holds(others, e.file.key, e.file.val) {
				continue
			}
			recs = append(recs, wire.SearchRecord{Username: x.bySeq[uint32(e.key>>32)], Filename: e.file.key, Description: e.file.val})
			if len(recs) >= limit {
				return recs
			}
		}
	}
	return recs
}

// locate returns the chunk that holds key k, or would: the first whose
// last key is ≥ k, else the last chunk; and the position in it of the
// first posting with a key ≥ k. p has a chunk.
func (x *index) locate(p *postings, k uint64) (ci, i int) {
	ci, _ = slices.BinarySearchFunc(p.chunks, k, func(c chunk, k uint64) int { return cmp64(c.last, k) })
	if ci == len(p.chunks) {
		ci--
	}
	i, _ = slices.BinarySearchFunc(p.chunks[ci].ids, k, func(id uint32, k uint64) int { return cmp64(x.ents[id].key, k) })
	return ci, i
}

func cmp64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// insert adds entry id, of key k (not in p yet), in key order. A full
// chunk is split in halves first, except at the very end of the list (the
// load, and the newest owner's publishes), where a new chunk is started:
// appended chunks fill up whole. Chunks grow by append (their capacity at
// most twice their length, maxChunk once full).
func (x *index) insert(p *postings, id uint32, k uint64) {
	p.n++
	if len(p.chunks) == 0 {
		p.chunks = []chunk{{k, []uint32{id}}}
		return
	}
	ci, i := len(p.chunks)-1, len(p.chunks[len(p.chunks)-1].ids)
	if k < p.chunks[ci].last {
		ci, i = x.locate(p, k)
	}
	c := &p.chunks[ci]
	if len(c.ids) >= maxChunk {
		if ci == len(p.chunks)-1 && i == len(c.ids) {
			p.chunks = append(p.chunks, chunk{k, []uint32{id}})
			return
		}
		half := len(c.ids) / 2
		upper := chunk{c.last, make([]uint32, len(c.ids)-half, maxChunk)}
		copy(upper.ids, c.ids[half:])
		c.ids = c.ids[:half]
		c.last = x.ents[c.ids[half-1]].key
		p.chunks = slices.Insert(p.chunks, ci+1, upper)
		if i > half {
			ci, i = ci+1, i-half
		}
		c = &p.chunks[ci]
	}
	c.ids = slices.Insert(c.ids, i, id)
	if i == len(c.ids)-1 {
		c.last = k
	}
}

// remove drops the posting of key k, which is in p.
func (x *index) remove(p *postings, k uint64) {
	ci, i := x.locate(p, k)
	p.n--
	c := &p.chunks[ci]
	if c.ids = slices.Delete(c.ids, i, i+1); len(c.ids) == 0 {
		p.chunks = slices.Delete(p.chunks, ci, ci+1)
		return
	}
	c.last = x.ents[c.ids[len(c.ids)-1]].key
}

// find returns the entry of file n among the postings of keys [lo, hi)
// (one owner's postings of one word).
func (x *index) find(p *postings, n *node[string], lo, hi uint64) (uint32, bool) {
	ci, i := x.locate(p, lo)
	for ; ci < len(p.chunks); ci, i = ci+1, 0 {
		for _, id := range p.chunks[ci].ids[i:] {
			e := x.ents[id]
			if e.key >= hi {
				return 0, false
			}
			if e.file == n {
				return id, true
			}
		}
	}
	return 0, false
}

// touch reads the first byte of every candidate's filename and
// description before any is checked. The candidates lie scattered in
// memory, so each check used to wait for its own cache misses in turn;
// loads that do not depend on one another are in flight together (26.6
// µs a search before, 9.3 after, in-process at 1,000,000 files). It
// returns the bytes' xor, for the caller to keep (index.sink: per store,
// under its lock, as two stores may search at once).
func touch(ents []entry, ids []uint32) byte {
	var b byte
	for _, id := range ids {
		f := ents[id].file
		if len(f.key) > 0 {
			b ^= f.key[0]
		}
		if len(f.val) > 0 {
			b ^= f.val[0]
		}
	}
	return b
}
