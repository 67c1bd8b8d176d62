package central

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/logging"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// copyingStore builds every list per request, as a database store does:
// no two replies share one.
type copyingStore struct{ directory.Store }

func (c copyingStore) ListContent(ctx context.Context, user, remote string) (directory.Facts, []wire.FileRecord, error) {
	f, recs, err := c.Store.ListContent(ctx, user, remote)
	return f, append([]wire.FileRecord(nil), recs...), err
}

// unknownStore cannot tell whether a REGISTER happened.
type unknownStore struct{ directory.Store }

func (unknownStore) Register(context.Context, string) (directory.Facts, error) {
	return directory.Facts{}, fmt.Errorf("%w: lost the database mid-commit", directory.ErrOutcomeUnknown)
}

// startWith serves a Directory over wrap(the CSV store in dir).
func startWith(t *testing.T, dir string, cfg Config, wrap func(directory.Store) directory.Store) *Server {
	t.Helper()
	st, err := csvstore.Open(csvstore.Options{Dir: dir, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.Directory = directory.New(wrap(st), directory.Options{})
	cfg.Console, cfg.Log = io.Discard, logging.Discard()
	srv, err := Start(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); st.Close() })
	return srv
}

// bigList writes a data folder where "big" publishes n files of the
// longest names (n*512 bytes on the wire) and "me" an empty list.
func bigList(t *testing.T, n int) string {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "users.csv"), []string{"me", "big"})
	writeLines(t, filepath.Join(dir, "connected.csv"), []string{"me;127.0.0.1;1000", "big;127.0.0.1;1001"})
	var files []string
	for i := range n {
		files = append(files, pad(fmt.Sprintf("f%05d", i), wire.MaxValueLen)+";"+pad(fmt.Sprintf("d%05d", i), wire.MaxValueLen))
	}
	writeLines(t, filepath.Join(dir, "files", "big.csv"), files)
	writeLines(t, filepath.Join(dir, "files", "me.csv"), nil)
	return dir
}

// pendingReply sends raw and reads the reply's first byte, leaving the
// rest unread.
func pendingReply(t *testing.T, addr string, raw []byte) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	return c, b[0]
}

// waitBudget waits until the server holds want bytes of list records.
func waitBudget(t *testing.T, srv *Server, want int64) {
	t.Helper()
	if !testenv.Poll(15*time.Second, func() bool { return srv.budget.inUse() == want }) {
		t.Fatalf("reply budget in use %d, want %d", srv.budget.inUse(), want)
	}
}

// TestReplyBudget: with lists built per request, a list that does not fit
// the budget beside one a client is not reading waits until its deadline
// and gets its last code; small replies go on meanwhile; once the reader
// goes away, the budget is back.
func TestReplyBudget(t *testing.T) {
	const n = 16000 // 8 MB: more than the socket buffers take
	size := int64(n * wire.FileRecordSize)
	srv := startWith(t, bigList(t, n), Config{ReplyBudget: 12 << 20, StoreTimeout: 300 * time.Millisecond},
		func(s directory.Store) directory.Store { return copyingStore{s} })
	addr := srv.Addr().String()
	ask := req(t, wire.ListContent, "me", "big")

	a, first := pendingReply(t, addr, ask)
	if first != '0' {
		t.Fatalf("first LIST_CONTENT: %q", first)
	}
	waitBudget(t, srv, size)
	if got := string(send(t, addr, ask)); got != "4" {
		t.Errorf("LIST_CONTENT beyond the budget: %q, want the last code 4", got)
	}
	if got := string(send(t, addr, req(t, wire.ListContent, "me", "me"))); got != fileList() {
		t.Errorf("an empty list meanwhile: %q", got)
	}
	users := userList(wire.UserRecord{Username: "me", IP: "127.0.0.1", Port: "1000"}, wire.UserRecord{Username: "big", IP: "127.0.0.1", Port: "1001"})
	if got := string(send(t, addr, req(t, wire.ListUsers, "me"))); got != users {
		t.Errorf("a small LIST_USERS meanwhile: %q", got)
	}
	a.Close()
	waitBudget(t, srv, 0)
	got := send(t, addr, ask)
	if len(got) != 5+int(size) || got[0] != '0' {
		t.Errorf("LIST_CONTENT once the budget is back: %d bytes, first %q", len(got), got[:1])
	}
}

// TestReplyBudgetShared: replies that share one list (the CSV store's
// snapshot) count it once, so many readers of one list all get it.
func TestReplyBudgetShared(t *testing.T) {
	const n = 16000
	size := int64(n * wire.FileRecordSize)
	srv := startWith(t, bigList(t, n), Config{ReplyBudget: 12 << 20, StoreTimeout: 300 * time.Millisecond},
		func(s directory.Store) directory.Store { return s })
	addr := srv.Addr().String()
	for i := range 5 {
		if _, first := pendingReply(t, addr, req(t, wire.ListContent, "me", "big")); first != '0' {
			t.Fatalf("reader %d: %q", i, first)
		}
	}
	waitBudget(t, srv, size)
}

// TestOutcomeUnknownNoReply: a change whose outcome the store cannot know
// gets no reply at all (neither OK nor its last code would be true).
func TestOutcomeUnknownNoReply(t *testing.T) {
	dir := t.TempDir()
	srv := startWith(t, dir, Config{}, func(s directory.Store) directory.Store { return unknownStore{s} })
	if got := send(t, srv.Addr().String(), req(t, wire.Register, "a")); len(got) != 0 {
		t.Errorf("reply %q, want none", got)
	}
}
