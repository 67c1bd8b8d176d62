package central

import (
	"bufio"
	"context"
	"sync"

	"p2p/internal/wire"
)

// reply is what answer decided to send: one status byte, or a list
// streamed record by record after its status and count; or nothing at all
// (none: the outcome of the change is unknown, see
// directory.ErrOutcomeUnknown). release gives the list's budget back once
// the reply has been written or abandoned.
type reply struct {
	none    bool
	status  wire.Status
	list    listKind // what follows the status
	users   []wire.UserRecord
	files   []wire.FileRecord
	matches []wire.SearchRecord
	release func()
}

type listKind uint8

const (
	noList listKind = iota
	usersList
	filesList
	matchesList
)

// writeBufSize is the buffer a reply is streamed through: what the server
// holds per connection for the encoded bytes, however long the list.
const writeBufSize = 32 << 10

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}

// writeTo encodes r into w, as many records at a time as fit the
// buffer's free space (a LIST_CONTENT of 20,000 files is 10 MB on the
// wire: it is never built whole).
func (r *reply) writeTo(w *bufio.Writer) error {
	w.WriteByte(r.status.Byte())
	var err error
	switch r.list {
	case usersList:
		err = writeList(w, r.users, wire.UserRecordSize, wire.AppendUserRecord) // checked by encodable
	case filesList:
		err = writeList(w, r.files, wire.FileRecordSize, wire.AppendFileRecord)
	case matchesList:
		err = writeList(w, r.matches, wire.SearchRecordSize, wire.AppendSearchRecord)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// writeList writes the count, then recs, each size bytes on the wire, as
// many at a time as fit w's free space. The records have been checked:
// appending one cannot fail.
func writeList[T any](w *bufio.Writer, recs []T, size int, appendRec func([]byte, T) ([]byte, error)) error {
	w.Write(wire.AppendCount(w.AvailableBuffer(), uint32(len(recs))))
	for i := 0; i < len(recs); {
		buf := w.AvailableBuffer()
		for ; i < len(recs) && cap(buf)-len(buf) >= size; i++ {
			buf, _ = appendRec(buf, recs[i])
		}
		if err := flushIfFull(w, buf); err != nil {
			return err
		}
	}
	return nil
}

// flushIfFull hands buf (from w.AvailableBuffer) to w, and flushes when no
// record was appended for lack of room.
func flushIfFull(w *bufio.Writer, buf []byte) error {
	if len(buf) == 0 {
		return w.Flush()
	}
	_, err := w.Write(buf)
	return err
}

// encodable checks a list before its '0' is sent: a record that cannot be
// encoded gets the operation's last code instead, as a reply built whole
// would.
func encodable[T interface{ Encodable() bool }](recs []T) bool {
	for _, r := range recs {
		if !r.Encodable() {
			return false
		}
	}
	return true
}

// budget bounds, server-wide, the bytes of list records held by replies
// in flight (read from the store and not yet written to a client that may
// never read). A list is counted at its size on the wire, and a list
// several replies share (one slice: a store's snapshot) is counted once:
// a hundred readers of one list cost the list once, while a store that
// builds each list per request (PostgreSQL) is capped here. A reply waits
// for room until its deadline; one larger than the whole budget goes when
// nothing else is held.
type budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	held  map[listKey]*holding
	// freed is closed (and replaced) when bytes are given back while
	// someone waits.
	freed   chan struct{}
	waiting int
}

// listKey names one list in memory: its first element and length.
type listKey struct {
	first any
	n     int
}

type holding struct {
	refs int
	size int64
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit, held: make(map[listKey]*holding), freed: make(chan struct{})}
}

// acquire takes size bytes for the list key until release is called; ok is
// false when ctx ended first.
func (b *budget) acquire(ctx context.Context, key listKey, size int64) (release func(), ok bool) {
	for {
		b.mu.Lock()
		if h := b.held[key]; h != nil {
			h.refs++
			b.mu.Unlock()
			return func() { b.give(key) }, true
		}
		if b.used+size <= b.limit || b.used == 0 {
			b.held[key] = &holding{refs: 1, size: size}
			b.used += size
			b.mu.Unlock()
			return func() { b.give(key) }, true
		}
		freed := b.freed
		b.waiting++
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
		}
		b.mu.Lock()
		b.waiting--
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil, false
		}
	}
}

func (b *budget) give(key listKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.held[key]
	if h.refs--; h.refs > 0 {
		return
	}
	delete(b.held, key)
	b.used -= h.size
	if b.waiting > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
}

// inUse is the bytes held now (for tests).
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
