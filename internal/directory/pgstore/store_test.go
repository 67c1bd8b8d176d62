package pgstore

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var bg = context.Background()

// openStore opens a Store on dsn, closed when t ends.
func openStore(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testDir answers the old way, one outcome per call, through the rules of
// directory.Directory, so that a test reads as the §2 requests it plays.
type testDir struct {
	*Store
	d *directory.Directory
}

func newTestDir(t testing.TB, dsn string, maxFiles int) testDir {
	t.Helper()
	s := openStore(t, dsn, Options{})
	return testDir{s, directory.New(s, directory.Options{MaxFiles: maxFiles})}
}

func (s testDir) register(u string) wire.Outcome   { return directory.OutcomeOf(s.d.Register(bg, u)) }
func (s testDir) unregister(u string) wire.Outcome { return directory.OutcomeOf(s.d.Unregister(bg, u)) }
func (s testDir) connect(u, ip, port string) wire.Outcome {
	return directory.OutcomeOf(s.d.Connect(bg, u, ip, port))
}
func (s testDir) disconnect(u string) wire.Outcome { return directory.OutcomeOf(s.d.Disconnect(bg, u)) }
func (s testDir) publish(u, f, d string) wire.Outcome {
	return directory.OutcomeOf(s.d.Publish(bg, u, f, d))
}
func (s testDir) delete(u, f string) wire.Outcome { return directory.OutcomeOf(s.d.Delete(bg, u, f)) }
func (s testDir) listUsers(u string) ([]wire.UserRecord, wire.Outcome) {
	recs, err := s.d.ListUsers(bg, u)
	return recs, directory.OutcomeOf(err)
}
func (s testDir) listContent(u, r string) ([]wire.FileRecord, wire.Outcome) {
	recs, err := s.d.ListContent(bg, u, r)
	return recs, directory.OutcomeOf(err)
}

func expect(t testing.TB, what string, got, want wire.Outcome) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: outcome %v, want %v", what, got, want)
	}
}

// TestStoreWalk plays every outcome of §2 and checks the lists' orders.
func TestStoreWalk(t *testing.T) {
	s := newTestDir(t, testenv.Postgres(t), 0)
	expect(t, "register a", s.register("a"), wire.OK)
	expect(t, "register a again", s.register("a"), wire.UserInUse)
	expect(t, "unregister b", s.unregister("b"), wire.UserNotFound)
	expect(t, "connect b", s.connect("b", "1.1.1.1", "1"), wire.UserNotFound)
	expect(t, "disconnect b", s.disconnect("b"), wire.UserNotFound)
	expect(t, "disconnect a", s.disconnect("a"), wire.NotConnected)
	expect(t, "publish b", s.publish("b", "f", "d"), wire.UserNotFound)
	expect(t, "publish a", s.publish("a", "f", "d"), wire.NotConnected)
	expect(t, "delete a", s.delete("a", "f"), wire.NotConnected)
	_, o := s.listUsers("b")
	expect(t, "list users b", o, wire.UserNotFound)
	_, o = s.listUsers("a")
	expect(t, "list users a", o, wire.NotConnected)
	_, o = s.listContent("a", "a")
	expect(t, "list content a", o, wire.NotConnected)

	for _, u := range []string{"c", "b", "d"} {
		expect(t, "register "+u, s.register(u), wire.OK)
	}
	expect(t, "connect c", s.connect("c", "10.0.0.3", "3"), wire.OK)
	expect(t, "connect a", s.connect("a", "10.0.0.1", "1"), wire.OK)
	expect(t, "connect a again", s.connect("a", "10.0.0.1", "9"), wire.AlreadyConnected)
	expect(t, "connect b", s.connect("b", "10.0.0.2", "2"), wire.OK)
	users, o := s.listUsers("a")
	expect(t, "list users", o, wire.OK)
	want := []wire.UserRecord{{Username: "c", IP: "10.0.0.3", Port: "3"}, {Username: "a", IP: "10.0.0.1", Port: "1"}, {Username: "b", IP: "10.0.0.2", Port: "2"}}
	if !reflect.DeepEqual(users, want) {
		t.Fatalf("list users %v, want %v", users, want)
	}
	for _, f := range []string{"z", "y", "", "x"} {
		expect(t, "publish "+f, s.publish("a", f, "about "+f), wire.OK)
	}
	expect(t, "publish y again", s.publish("a", "y", "other"), wire.AlreadyPublished)
	expect(t, "delete y", s.delete("a", "y"), wire.OK)
	expect(t, "delete y again", s.delete("a", "y"), wire.NotPublished)
	expect(t, "publish y anew", s.publish("a", "y", "last"), wire.OK)
	files, o := s.listContent("b", "a")
	expect(t, "list content", o, wire.OK)
	wantFiles := []wire.FileRecord{{Filename: "z", Description: "about z"}, {Filename: "", Description: "about "}, {Filename: "x", Description: "about x"}, {Filename: "y", Description: "last"}}
	if !reflect.DeepEqual(files, wantFiles) {
		t.Fatalf("list content %q, want %q", files, wantFiles)
	}
	files, o = s.listContent("b", "b")
	if o != wire.OK || files == nil || len(files) != 0 {
		t.Fatalf("own empty list: %v %v", files, o)
	}
	files, o = s.listContent("b", "d") // registered, not connected: empty
	if o != wire.OK || files == nil || len(files) != 0 {
		t.Fatalf("offline list: %v %v", files, o)
	}
	_, o = s.listContent("b", "nobody")
	expect(t, "list content of nobody", o, wire.RemoteNotFound)
	_, o = s.listContent("b", "../a")
	expect(t, "list content of an unsafe name", o, wire.Failed)

	// DISCONNECT takes the list along; a new CONNECT goes last, empty.
	expect(t, "disconnect a", s.disconnect("a"), wire.OK)
	expect(t, "disconnect a again", s.disconnect("a"), wire.NotConnected)
	expect(t, "connect a", s.connect("a", "10.0.0.9", "9"), wire.OK)
	if files, _ := s.listContent("b", "a"); len(files) != 0 {
		t.Fatalf("list after reconnect: %v", files)
	}
	users, _ = s.listUsers("a")
	want = []wire.UserRecord{{Username: "c", IP: "10.0.0.3", Port: "3"}, {Username: "b", IP: "10.0.0.2", Port: "2"}, {Username: "a", IP: "10.0.0.9", Port: "9"}}
	if !reflect.DeepEqual(users, want) {
		t.Fatalf("list users %v, want %v", users, want)
	}
	// UNREGISTER takes the connection and the list along.
	expect(t, "publish a", s.publish("a", "f", "d"), wire.OK)
	expect(t, "unregister a", s.unregister("a"), wire.OK)
	expect(t, "register a", s.register("a"), wire.OK)
	_, o = s.listUsers("a")
	expect(t, "list users after re-register", o, wire.NotConnected)
	expect(t, "connect a", s.connect("a", "10.0.0.1", "1"), wire.OK)
	if files, _ := s.listContent("a", "a"); len(files) != 0 {
		t.Fatalf("list after unregister: %v", files)
	}
	users, _ = s.listUsers("c")
	if len(users) != 3 || users[2].Username != "a" {
		t.Fatalf("list users %v", users)
	}
}

// TestStoreFacts checks the Facts the store reports, below the rules.
func TestStoreFacts(t *testing.T) {
	s := openStore(t, testenv.Postgres(t), Options{})
	check := func(what string, f directory.Facts, err error, want directory.Facts) {
		t.Helper()
		if err != nil || f != want {
			t.Fatalf("%s: %+v, %v; want %+v", what, f, err, want)
		}
	}
	R, RC := directory.Facts{Registered: true}, directory.Facts{Registered: true, Connected: true}
	f, err := s.Register(bg, "a")
	check("register", f, err, directory.Facts{})
	f, err = s.Register(bg, "a")
	check("register again", f, err, R)
	f, err = s.Connect(bg, "a", "1.2.3.4", "5")
	check("connect", f, err, R)
	f, err = s.Connect(bg, "a", "1.2.3.4", "5")
	check("connect again", f, err, RC)
	f, err = s.Publish(bg, "a", "f", "d", 2)
	check("publish", f, err, RC)
	f, err = s.Publish(bg, "a", "g", "d", 2)
	check("publish", f, err, RC)
	f, err = s.Publish(bg, "a", "h", "d", 2)
	check("publish to a full list", f, err, directory.Facts{Registered: true, Connected: true, Full: true})
	f, err = s.Publish(bg, "a", "f", "d", 2)
	check("publish listed to a full list", f, err, directory.Facts{Registered: true, Connected: true, Listed: true, Full: true})
	f, err = s.Publish(bg, "a", "f", "d", 0)
	check("publish listed", f, err, directory.Facts{Registered: true, Connected: true, Listed: true})
	f, err = s.Delete(bg, "a", "f")
	check("delete", f, err, directory.Facts{Registered: true, Connected: true, Listed: true})
	f, recs, err := s.ListContent(bg, "a", "b")
	check("list content of nobody", f, err, RC)
	if recs != nil {
		t.Errorf("records for a missing remote: %v", recs)
	}
	f, _, err = s.ListContent(bg, "a", "a")
	check("list content", f, err, directory.Facts{Registered: true, Connected: true, RemoteRegistered: true, RemoteConnected: true})
	f, err = s.Disconnect(bg, "a")
	check("disconnect", f, err, RC)
	f, err = s.Unregister(bg, "a")
	check("unregister", f, err, R)
	f, err = s.Unregister(bg, "a")
	check("unregister again", f, err, directory.Facts{})
}

// TestMaxFiles: a list holding maxFiles files refuses one more with
// ErrTooManyFiles and changes nothing; a delete makes room.
func TestMaxFiles(t *testing.T) {
	s := newTestDir(t, testenv.Postgres(t), 3)
	expect(t, "register", s.register("a"), wire.OK)
	expect(t, "connect", s.connect("a", "1.1.1.1", "1"), wire.OK)
	for _, f := range []string{"1", "2", "3"} {
		expect(t, "publish "+f, s.publish("a", f, ""), wire.OK)
	}
	if err := s.d.Publish(bg, "a", "4", ""); err != directory.ErrTooManyFiles {
		t.Fatalf("publish to a full list: %v", err)
	}
	expect(t, "publish a listed name to a full list", s.publish("a", "2", ""), wire.AlreadyPublished)
	expect(t, "delete", s.delete("a", "1"), wire.OK)
	expect(t, "publish 4", s.publish("a", "4", ""), wire.OK)
	files, _ := s.listContent("a", "a")
	var names []string
	for _, f := range files {
		names = append(names, f.Filename)
	}
	if strings.Join(names, ",") != "2,3,4" {
		t.Fatalf("list %v", names)
	}
}

// TestBytesRoundTrip: names made of every byte but NUL (invalid UTF-8
// among them) come back exactly, below the rules and through them.
func TestBytesRoundTrip(t *testing.T) {
	s := openStore(t, testenv.Postgres(t), Options{})
	var all []byte
	for b := 1; b <= 0xff; b++ {
		all = append(all, byte(b))
	}
	// Below the rules, the username too holds every byte.
	user, file, desc := string(all), string(all), string(all[128:])+string(all[:128])
	if _, err := s.Register(bg, user); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connect(bg, user, "1.2.3.4", "65535"); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Publish(bg, user, file, desc, 0); err != nil || f.Listed {
		t.Fatal(f, err)
	}
	f, users, err := s.ListUsers(bg, user)
	if err != nil || !f.Connected || len(users) != 1 || users[0].Username != user {
		t.Fatalf("list users: %+v %q %v", f, users, err)
	}
	_, files, err := s.ListContent(bg, user, user)
	if err != nil || len(files) != 1 || files[0].Filename != file || files[0].Description != desc {
		t.Fatalf("list content: %q %v", files, err)
	}
	// Through the rules: the longest safe username of bytes 0x20..0xff.
	d := directory.New(s, directory.Options{})
	var safe []byte
	for b := 0x20; b <= 0xff && len(safe) < directory.MaxUsernameLen; b++ {
		if b != 0x7f && b != '/' && b != '\\' {
			safe = append(safe, byte(b))
		}
	}
	u := string(safe)
	if err := d.Register(bg, u); err != nil {
		t.Fatal(err)
	}
	if err := d.Connect(bg, u, "127.0.0.1", "1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(bg, u, file, desc); err != nil {
		t.Fatal(err)
	}
	upper := []byte(file)
	for i, c := range upper {
		if 'a' <= c && c <= 'z' {
			upper[i] = c - 'a' + 'A'
		}
	}
	if err := d.Publish(bg, u, string(upper), ""); err != nil {
		t.Fatal(err) // bytea compares bytes: no collation folds case
	}
	recs, err := d.ListContent(bg, u, u)
	if err != nil || len(recs) != 2 || recs[0].Filename != file || recs[0].Description != desc {
		t.Fatalf("list content: %q %v", recs, err)
	}
}

// TestSchemaNewer: a database whose schema is newer than this server's is
// refused by Open, clearly.
func TestSchemaNewer(t *testing.T) {
	dsn := testenv.Postgres(t)
	s := openStore(t, dsn, Options{})
	if _, err := s.pool.Exec(bg, "UPDATE p2p.schema_version SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(bg, dsn, Options{Lazy: true})
	if err == nil {
		s2.Close()
		t.Fatal("Open accepted a newer schema")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open: %v", err)
	}
}

// TestOpenBadDSN: a connection string that does not parse fails Open at
// once, Lazy or not.
func TestOpenBadDSN(t *testing.T) {
	for _, dsn := range []string{"postgres://a b@/x", "port=notanumber"} {
		if s, err := Open(bg, dsn, Options{Lazy: true}); err == nil {
			s.Close()
			t.Errorf("%q: Open succeeded", dsn)
		} else if !errors.Is(err, ErrDSN) {
			t.Errorf("%q: %v, want ErrDSN", dsn, err)
		}
	}
}

// TestClosed: calls after Close return ErrClosed.
func TestClosed(t *testing.T) {
	s := openStore(t, testenv.Postgres(t), Options{})
	s.Close()
	if _, err := s.Register(bg, "a"); err != ErrClosed {
		t.Fatalf("register after close: %v", err)
	}
	if _, _, err := s.ListUsers(bg, "a"); err != ErrClosed {
		t.Fatalf("list users after close: %v", err)
	}
}

// TestPoolSize: the pool is Options.MaxConns, else the connection
// string's pool_max_conns, else DefaultMaxConns.
func TestPoolSize(t *testing.T) {
	dsn := testenv.Postgres(t)
	for _, c := range []struct {
		dsn  string
		opt  int32
		want int32
	}{{dsn, 0, DefaultMaxConns}, {dsn, 3, 3}, {dsn + " pool_max_conns=5", 0, 5}, {dsn + " pool_max_conns=5", 2, 2}} {
		s := openStore(t, c.dsn, Options{MaxConns: c.opt})
		if got := s.pool.Config().MaxConns; got != c.want {
			t.Errorf("%q, MaxConns %d: pool of %d, want %d", c.dsn, c.opt, got, c.want)
		}
	}
}
