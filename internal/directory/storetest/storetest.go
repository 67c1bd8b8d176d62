// Package storetest is the conformance suite of directory.Store, in the
// style of testing/fstest: one function, Run, that plays every state,
// order and concurrency case of PROTOCOL.md §2 against a store, through
// the rules of directory.Directory, so that every store answers exactly
// alike. Each store's own tests call Run; what is particular to one store
// (its files, its schema) is tested beside it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/wire"
)

// Opener opens a store over one state. Calling it again after the store
// is closed opens the same state again: a restart.
type Opener func() (directory.Store, error)

// Harness is what Run needs of a store's test.
type Harness struct {
	// Fresh returns the Opener of a new, empty state for one case (t is
	// that case's).
	Fresh func(t *testing.T) Opener
	// Shared is true when several stores may be open on one state at
	// once (several servers on one database): the concurrency cases then
	// spread their clients over several stores.
	Shared bool
}

// Run runs every case of the suite as a subtest of t.
func Run(t *testing.T, h Harness) {
	cases := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"StatusCodes", testStatusCodes},
		{"CheckOrder", testCheckOrder},
		{"InvalidFields", testInvalidFields},
		{"UnregisterTakesAll", testUnregisterTakesAll},
		{"ConnectionOrder", testConnectionOrder},
		{"PublishingOrder", testPublishingOrder},
		{"OfflineRemote", testOfflineRemote},
		{"ExactValues", testExactValues},
		{"Restart", testRestart},
		{"MaxFiles", testMaxFiles},
		{"RacingRegister", testRacingRegister},
		{"RacingPublish", testRacingPublish},
		{"ConcurrentClients", testConcurrentClients},
		{"OrderNeverChanges", testOrderNeverChanges},
		{"ExpiredContext", testExpiredContext},
		{"SearchStatusCodes", testSearchStatusCodes},
		{"SearchWords", testSearchWords},
		{"SearchOrder", testSearchOrder},
		{"SearchOffline", testSearchOffline},
		{"SearchCap", testSearchCap},
		{"SearchRestart", testSearchRestart},
		{"SearchConcurrent", testSearchConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &env{t: t, h: h, open: h.Fresh(t)}
			e.first = e.store()
			e.d = directory.New(e.first, directory.Options{})
			c.f(t, e)
		})
	}
}

// env is one case's state: its opener, and the stores it opened.
type env struct {
	t     *testing.T
	h     Harness
	open  Opener
	d     *directory.Directory // over first
	first directory.Store      // the store the case opened first
	mu    sync.Mutex
	all   []directory.Store
}

// start opens one more store over the case's state and returns the
// Directory over it; it is closed when the case ends.
func (e *env) start(opts directory.Options) *directory.Directory {
	e.t.Helper()
	s := e.store()
	return directory.New(s, opts)
}

func (e *env) store() directory.Store {
	e.t.Helper()
	s, err := e.open()
	if err != nil {
		e.t.Fatalf("opening the store: %v", err)
	}
	e.mu.Lock()
	e.all = append(e.all, s)
	e.mu.Unlock()
	e.t.Cleanup(func() { s.Close() })
	return s
}

// restart closes every store of the case and opens the state again.
func (e *env) restart() {
	e.t.Helper()
	e.mu.Lock()
	all := e.all
	e.all = nil
	e.mu.Unlock()
	for _, s := range all {
		if err := s.Close(); err != nil {
			e.t.Fatalf("closing the store: %v", err)
		}
	}
	e.first = e.store()
	e.d = directory.New(e.first, directory.Options{})
}

// directories returns n Directories over the case's state: n stores when
// the harness allows several at once, else n times the first.
func (e *env) directories(n int) []*directory.Directory {
	ds := make([]*directory.Directory, n)
	for i := range ds {
		if i > 0 && e.h.Shared {
			ds[i] = e.start(directory.Options{})
		} else {
			ds[i] = e.d
		}
	}
	return ds
}

var bg = context.Background()

// op is one request of §2 as a call on a Directory.
type op struct {
	name string
	do   func(d *directory.Directory) error
}

func register(u string) op {
	return op{"REGISTER " + u, func(d *directory.Directory) error { return d.Register(bg, u) }}
}
func unregister(u string) op {
	return op{"UNREGISTER " + u, func(d *directory.Directory) error { return d.Unregister(bg, u) }}
}
func connect(u, ip, port string) op {
	return op{"CONNECT " + u, func(d *directory.Directory) error { return d.Connect(bg, u, ip, port) }}
}
func disconnect(u string) op {
	return op{"DISCONNECT " + u, func(d *directory.Directory) error { return d.Disconnect(bg, u) }}
}
func publish(u, f, desc string) op {
	return op{"PUBLISH " + u + " " + f, func(d *directory.Directory) error { return d.Publish(bg, u, f, desc) }}
}
func del(u, f string) op {
	return op{"DELETE " + u + " " + f, func(d *directory.Directory) error { return d.Delete(bg, u, f) }}
}
func listUsers(u string) op {
	return op{"LIST_USERS " + u, func(d *directory.Directory) error { _, err := d.ListUsers(bg, u); return err }}
}
func listContent(u, r string) op {
	return op{"LIST_CONTENT " + u + " " + r, func(d *directory.Directory) error { _, err := d.ListContent(bg, u, r); return err }}
}

// want runs o and fails the case unless it returns the error want (nil:
// success).
func (e *env) want(o op, want error) {
	e.t.Helper()
	if err := o.do(e.d); !errors.Is(err, want) || (want == nil && err != nil) {
		e.t.Fatalf("%s: %v, want %v", o.name, err, orOK(want))
	}
}

// ok runs each op and fails the case unless it succeeds.
func (e *env) ok(ops ...op) {
	e.t.Helper()
	for _, o := range ops {
		e.want(o, nil)
	}
}

func orOK(err error) any {
	if err == nil {
		return "success"
	}
	return err
}

// users returns what LIST_USERS answers u.
func (e *env) users(u string) []wire.UserRecord {
	e.t.Helper()
	recs, err := e.d.ListUsers(bg, u)
	if err != nil {
		e.t.Fatalf("LIST_USERS %s: %v", u, err)
	}
	return recs
}

// files returns what LIST_CONTENT answers u about r.
func (e *env) files(u, r string) []wire.FileRecord {
	e.t.Helper()
	recs, err := e.d.ListContent(bg, u, r)
	if err != nil {
		e.t.Fatalf("LIST_CONTENT %s %s: %v", u, r, err)
	}
	return recs
}

func names(recs []wire.UserRecord) string {
	var b []string
	for _, r := range recs {
		b = append(b, r.Username)
	}
	return strings.Join(b, " ")
}

func filenames(recs []wire.FileRecord) string {
	var b []string
	for _, r := range recs {
		b = append(b, r.Filename)
	}
	return strings.Join(b, " ")
}

// testStatusCodes plays every operation in each of the requester's three
// states: unregistered, registered, connected.
func testStatusCodes(t *testing.T, e *env) {
	// u: not registered.
	e.want(unregister("u"), directory.ErrUserNotFound)
	e.want(connect("u", "127.0.0.1", "1"), directory.ErrUserNotFound)
	e.want(disconnect("u"), directory.ErrUserNotFound)
	e.want(publish("u", "f", "d"), directory.ErrUserNotFound)
	e.want(del("u", "f"), directory.ErrUserNotFound)
	e.want(listUsers("u"), directory.ErrUserNotFound)
	e.want(listContent("u", "u"), directory.ErrUserNotFound)

	// registered, not connected.
	e.ok(register("u"))
	e.want(register("u"), directory.ErrUserInUse)
	e.want(disconnect("u"), directory.ErrNotConnected)
	e.want(publish("u", "f", "d"), directory.ErrNotConnected)
	e.want(del("u", "f"), directory.ErrNotConnected)
	e.want(listUsers("u"), directory.ErrNotConnected)
	e.want(listContent("u", "u"), directory.ErrNotConnected)

	// connected.
	e.ok(connect("u", "127.0.0.1", "1"))
	e.want(connect("u", "127.0.0.1", "2"), directory.ErrAlreadyConnected)
	e.want(register("u"), directory.ErrUserInUse)
	e.want(del("u", "f"), directory.ErrNotPublished)
	e.ok(publish("u", "f", "d"))
	e.want(publish("u", "f", "other"), directory.ErrAlreadyPublished)
	e.want(listContent("u", "nobody"), directory.ErrRemoteNotFound)
	if got := e.users("u"); len(got) != 1 || got[0] != (wire.UserRecord{Username: "u", IP: "127.0.0.1", Port: "1"}) {
		t.Errorf("LIST_USERS: %+v", got)
	}
	if got := e.files("u", "u"); len(got) != 1 || got[0] != (wire.FileRecord{Filename: "f", Description: "d"}) {
		t.Errorf("LIST_CONTENT: %+v", got)
	}
	e.ok(del("u", "f"))
	e.want(del("u", "f"), directory.ErrNotPublished)
	e.ok(disconnect("u"))
	e.want(disconnect("u"), directory.ErrNotConnected)
	e.ok(unregister("u"))
	e.want(unregister("u"), directory.ErrUserNotFound)
}

// testCheckOrder: the checks run in the order of §2's columns, so the
// earliest failing one is answered even when later ones fail too.
func testCheckOrder(t *testing.T, e *env) {
	e.ok(register("a"), connect("a", "10.0.0.1", "1"), publish("a", "f", "d"))
	// a file a once published, while a is not connected: not connected (2),
	// not "already published" (3) or "not published" (3).
	e.ok(disconnect("a"))
	e.want(publish("a", "f", "d"), directory.ErrNotConnected)
	e.want(del("a", "g"), directory.ErrNotConnected)
	// unregistered: 1 before everything else.
	e.ok(unregister("a"))
	e.want(publish("a", "f", "d"), directory.ErrUserNotFound)
	e.want(connect("a", "10.0.0.1", "1"), directory.ErrUserNotFound)
	e.want(listContent("a", "nobody"), directory.ErrUserNotFound)
	// LIST_CONTENT checks the requester before the remote.
	e.ok(register("b"))
	e.want(listContent("b", "nobody"), directory.ErrNotConnected)
}

// testInvalidFields: fields no request may carry get the last code
// (ErrInvalid), before the user is checked, and change nothing.
func testInvalidFields(t *testing.T, e *env) {
	long := strings.Repeat("x", directory.MaxUsernameLen+1)
	for _, u := range []string{"", ".", "..", "a/b", `a\b`, "a\nb", "a\x7fb", long} {
		e.want(register(u), directory.ErrInvalid)
		e.want(unregister(u), directory.ErrInvalid)
		e.want(connect(u, "127.0.0.1", "1"), directory.ErrInvalid)
		e.want(listUsers(u), directory.ErrInvalid)
	}
	e.ok(register(strings.Repeat("y", directory.MaxUsernameLen)))
	e.want(connect("nobody", "127.0.0.1", "65536"), directory.ErrInvalid)
	e.want(connect("nobody", "127.0.0.1", "x"), directory.ErrInvalid)
	e.want(connect("nobody", "", "1"), directory.ErrInvalid)
	e.ok(register("a"), connect("a", "127.0.0.1", "1"))
	e.want(publish("a", strings.Repeat("f", wire.MaxValueLen+1), "d"), directory.ErrInvalid)
	e.want(publish("a", "f", strings.Repeat("d", wire.MaxValueLen+1)), directory.ErrInvalid)
	e.want(del("a", strings.Repeat("f", wire.MaxValueLen+1)), directory.ErrInvalid)
	// An unsafe remote name cannot be registered: the last code, after
	// the requester's checks.
	e.want(listContent("a", "../a"), directory.ErrInvalid)
	if got := e.files("a", "a"); len(got) != 0 {
		t.Errorf("refused publishes left %+v", got)
	}
	if got := names(e.users("a")); got != "a" {
		t.Errorf("connected after refused connects: %q", got)
	}
}

// testUnregisterTakesAll: UNREGISTER removes the connection and the list;
// a user registered again under the name starts with nothing.
func testUnregisterTakesAll(t *testing.T, e *env) {
	e.ok(register("a"), register("b"), connect("a", "10.0.0.1", "1"), connect("b", "10.0.0.2", "2"),
		publish("a", "f", "d"), publish("a", "g", "d"))
	e.ok(unregister("a"))
	if got := names(e.users("b")); got != "b" {
		t.Errorf("LIST_USERS after UNREGISTER a: %q", got)
	}
	e.want(listContent("b", "a"), directory.ErrRemoteNotFound)
	e.ok(register("a"))
	if got := e.files("b", "a"); len(got) != 0 {
		t.Errorf("list of a registered again: %+v", got)
	}
	e.ok(connect("a", "10.0.0.3", "3"))
	if got := e.files("b", "a"); len(got) != 0 {
		t.Errorf("list of a connected again: %+v", got)
	}
	if got := e.users("b"); names(got) != "b a" || got[1].IP != "10.0.0.3" || got[1].Port != "3" {
		t.Errorf("LIST_USERS: %+v", got)
	}
}

// testConnectionOrder: LIST_USERS lists in the order users connected; a
// user who reconnects goes to the end, with its new address.
func testConnectionOrder(t *testing.T, e *env) {
	for _, u := range []string{"c", "a", "b", "d"} {
		e.ok(register(u))
	}
	e.ok(connect("b", "10.0.0.2", "2"), connect("a", "10.0.0.1", "1"), connect("d", "10.0.0.4", "4"), connect("c", "10.0.0.3", "3"))
	if got := names(e.users("a")); got != "b a d c" {
		t.Errorf("order %q, want b a d c", got)
	}
	e.ok(disconnect("a"), connect("a", "10.0.0.9", "9"))
	got := e.users("a")
	if names(got) != "b d c a" {
		t.Errorf("order after a reconnects %q, want b d c a", names(got))
	}
	if last := got[len(got)-1]; last.IP != "10.0.0.9" || last.Port != "9" {
		t.Errorf("a's new address %+v", last)
	}
	e.ok(unregister("d"))
	if got := names(e.users("a")); got != "b c a" {
		t.Errorf("order after UNREGISTER d %q", got)
	}
}

// testPublishingOrder: LIST_CONTENT lists in publishing order; a file
// deleted and published again goes to the end.
func testPublishingOrder(t *testing.T, e *env) {
	e.ok(register("a"), connect("a", "10.0.0.1", "1"))
	for _, f := range []string{"z", "b", "y", "a"} {
		e.ok(publish("a", f, "d "+f))
	}
	if got := filenames(e.files("a", "a")); got != "z b y a" {
		t.Errorf("order %q", got)
	}
	e.ok(del("a", "b"), publish("a", "b", "again"))
	got := e.files("a", "a")
	if filenames(got) != "z y a b" || got[3].Description != "again" {
		t.Errorf("after re-publishing b: %+v", got)
	}
	// DISCONNECT drops the list: a new connection starts empty.
	e.ok(disconnect("a"), connect("a", "10.0.0.1", "1"))
	if got := e.files("a", "a"); len(got) != 0 {
		t.Errorf("list after reconnecting: %+v", got)
	}
}

// testOfflineRemote: a registered remote that is not connected lists
// empty (its content is listed only while it is online).
func testOfflineRemote(t *testing.T, e *env) {
	e.ok(register("a"), register("b"), connect("a", "10.0.0.1", "1"))
	if got := e.files("a", "b"); got == nil || len(got) != 0 {
		t.Errorf("LIST_CONTENT of an offline user: %#v, want an empty list", got)
	}
	e.ok(connect("b", "10.0.0.2", "2"), publish("b", "f", "d"))
	if got := filenames(e.files("a", "b")); got != "f" {
		t.Errorf("online: %q", got)
	}
	e.ok(disconnect("b"))
	if got := e.files("a", "b"); len(got) != 0 {
		t.Errorf("offline again: %+v", got)
	}
}

// values returns names that use every byte a value may hold (1..255),
// some in CSV's and SQL's special characters.
func values() (user string, file string, desc string) {
	var all []byte
	for c := 1; c < 256; c++ {
		all = append(all, byte(c))
	}
	var safe []byte
	for _, c := range all {
		if c >= 0x20 && c != 0x7f && c != '/' && c != '\\' {
			safe = append(safe, c)
		}
	}
	for len(safe) < directory.MaxUsernameLen {
		safe = append(safe, 'u')
	}
	return string(safe), string(all), ` ;"quoted"; ` + "\r\n\t'--' \xff\xfe"
}

// testExactValues: names are any bytes but NUL and come back exactly.
func testExactValues(t *testing.T, e *env) {
	user, file, desc := values()
	e.ok(register(user), connect(user, "192.168.100.200", "65535"), publish(user, file, desc),
		publish(user, " lead", ""), publish(user, "ñandú.mp3", "canción ✓"))
	check := func(when string) {
		t.Helper()
		if got := e.users(user); len(got) != 1 || got[0] != (wire.UserRecord{Username: user, IP: "192.168.100.200", Port: "65535"}) {
			t.Errorf("%s: LIST_USERS %q", when, got)
		}
		want := []wire.FileRecord{{Filename: file, Description: desc}, {Filename: " lead"}, {Filename: "ñandú.mp3", Description: "canción ✓"}}
		if got := e.files(user, user); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: LIST_CONTENT %q, want %q", when, got, want)
		}
	}
	check("before restart")
	e.restart()
	check("after restart")
	e.ok(del(user, file))
	e.want(del(user, file), directory.ErrNotPublished)
}

// testRestart: everything acknowledged survives a restart, in order;
// nothing refused appears.
func testRestart(t *testing.T, e *env) {
	e.ok(register("a"), register("b"), register("c"), register("x"),
		connect("c", "10.0.0.3", "3"), connect("a", "10.0.0.1", "1"),
		publish("a", "f1", "one"), publish("a", "f2", ""), publish("a", "f3", "three"), del("a", "f2"),
		connect("x", "10.0.0.9", "9"), publish("x", "gone", ""), unregister("x"),
		connect("b", "10.0.0.2", "2"), publish("b", "g", "d"), disconnect("b"))
	e.want(register("a"), directory.ErrUserInUse)
	e.want(publish("a", "f1", "again"), directory.ErrAlreadyPublished)
	e.restart()
	if got := e.users("a"); names(got) != "c a" || got[0].IP != "10.0.0.3" || got[1].Port != "1" {
		t.Errorf("LIST_USERS after restart: %+v", got)
	}
	if got := e.files("a", "a"); fmt.Sprint(got) != fmt.Sprint([]wire.FileRecord{{Filename: "f1", Description: "one"}, {Filename: "f3", Description: "three"}}) {
		t.Errorf("LIST_CONTENT a after restart: %+v", got)
	}
	if got := e.files("a", "b"); len(got) != 0 {
		t.Errorf("LIST_CONTENT b after restart: %+v", got)
	}
	e.want(listContent("a", "x"), directory.ErrRemoteNotFound)
	e.want(register("b"), directory.ErrUserInUse)
	e.ok(register("x"))
	// After a restart, order goes on from where it was.
	e.ok(connect("b", "10.0.0.2", "2"), publish("a", "f4", ""))
	if got := names(e.users("a")); got != "c a b" {
		t.Errorf("order after restart and connect: %q", got)
	}
	if got := filenames(e.files("a", "a")); got != "f1 f3 f4" {
		t.Errorf("list after restart and publish: %q", got)
	}
}

// testMaxFiles: a user's list holds at most MaxFiles files; beyond it
// PUBLISH is refused (and changes nothing), and a DELETE makes room.
func testMaxFiles(t *testing.T, e *env) {
	e.d = directory.New(e.first, directory.Options{MaxFiles: 3})
	e.ok(register("a"), connect("a", "10.0.0.1", "1"), publish("a", "1", ""), publish("a", "2", ""), publish("a", "3", ""))
	e.want(publish("a", "4", ""), directory.ErrTooManyFiles)
	e.want(publish("a", "3", ""), directory.ErrAlreadyPublished)
	if got := filenames(e.files("a", "a")); got != "1 2 3" {
		t.Errorf("list at the cap: %q", got)
	}
	e.ok(del("a", "2"), publish("a", "4", ""))
	if got := filenames(e.files("a", "a")); got != "1 3 4" {
		t.Errorf("list after making room: %q", got)
	}
	if outcome := directory.OutcomeOf(directory.ErrTooManyFiles); wire.StatusFor(wire.Publish, outcome) != 4 {
		t.Errorf("a full list answers %d, want PUBLISH's last code 4", wire.StatusFor(wire.Publish, outcome))
	}
}

// race runs f on every one of ds at once (each racer waits for a common
// start) and returns how many succeeded and the others' errors.
func race(ds []*directory.Directory, f func(d *directory.Directory) error) (won int, others []error) {
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(d)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			others = append(others, err)
		}
	}
	return won, others
}

// testRacingRegister: racers registering one name (over several stores
// when they can share a state): exactly one succeeds, the others are told
// it is in use.
func testRacingRegister(t *testing.T, e *env) {
	const racers = 8
	ds := e.directories(racers)
	for round := range 5 {
		name := fmt.Sprintf("racer%d", round)
		won, others := race(ds, func(d *directory.Directory) error { return d.Register(bg, name) })
		for _, err := range others {
			if !errors.Is(err, directory.ErrUserInUse) {
				t.Errorf("round %d: a racer got %v", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d racers registered %q, want exactly 1", round, won, name)
		}
	}
}

// testRacingPublish: racers publishing one filename for one user: one
// succeeds, the others are told it is published; and racing CONNECTs of
// one user: one succeeds.
func testRacingPublish(t *testing.T, e *env) {
	const racers = 8
	ds := e.directories(racers)
	e.ok(register("a"))
	won, others := race(ds, func(d *directory.Directory) error { return d.Connect(bg, "a", "10.0.0.1", "1") })
	if won != 1 {
		t.Errorf("%d racing CONNECTs succeeded, want 1", won)
	}
	for _, err := range others {
		if !errors.Is(err, directory.ErrAlreadyConnected) {
			t.Errorf("a racing CONNECT got %v", err)
		}
	}
	won, others = race(ds, func(d *directory.Directory) error { return d.Publish(bg, "a", "f", "d") })
	if won != 1 {
		t.Errorf("%d racing PUBLISHes succeeded, want 1", won)
	}
	for _, err := range others {
		if !errors.Is(err, directory.ErrAlreadyPublished) {
			t.Errorf("a racing PUBLISH got %v", err)
		}
	}
	if got := filenames(e.files("a", "a")); got != "f" {
		t.Errorf("list %q", got)
	}
}

// testConcurrentClients: many clients at once, each with its own user:
// nothing acknowledged is lost, nothing is doubled, and the state
// survives a restart.
func testConcurrentClients(t *testing.T, e *env) {
	const clients = 32
	ds := e.directories(4)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := ds[i%len(ds)]
			u := fmt.Sprintf("user%02d", i)
			ip := fmt.Sprintf("10.0.0.%d", i)
			steps := []error{
				d.Register(bg, u), d.Connect(bg, u, ip, "1"),
				d.Publish(bg, u, "f", "d"), d.Publish(bg, u, "g", "d"), d.Delete(bg, u, "f"), d.Publish(bg, u, "h", "d"),
			}
			if i%2 == 0 {
				steps = append(steps, d.Unregister(bg, u))
			}
			for j, err := range steps {
				if err != nil {
					t.Errorf("%s: step %d: %v", u, j, err)
				}
			}
		}()
	}
	wg.Wait()
	check := func(when string) {
		t.Helper()
		e.ok(register("reader"), connect("reader", "10.0.1.1", "1"))
		defer e.ok(unregister("reader"))
		got := e.users("reader")
		if len(got) != clients/2+1 {
			t.Errorf("%s: %d connected, want %d", when, len(got), clients/2+1)
		}
		for _, r := range got {
			if r.Username == "reader" {
				continue
			}
			if files := filenames(e.files("reader", r.Username)); files != "g h" {
				t.Errorf("%s: %s lists %q, want g h", when, r.Username, files)
			}
		}
	}
	check("before restart")
	e.restart()
	check("after restart")
}

// testOrderNeverChanges: while users connect concurrently (over several
// stores when they can share a state), a reader's successive LIST_USERS
// never show two users in one order and later in the other, and a
// user once listed stays listed (no one disconnects here).
func testOrderNeverChanges(t *testing.T, e *env) {
	const writers = 8
	const each = 12
	ds := e.directories(writers + 1)
	e.ok(register("reader"), connect("reader", "10.0.1.1", "1"))
	for w := range writers {
		for i := range each {
			e.ok(register(fmt.Sprintf("w%d-%d", w, i)))
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := ds[w].Connect(bg, fmt.Sprintf("w%d-%d", w, i), "10.0.0.1", "1"); err != nil {
					t.Errorf("connect: %v", err)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	reader := ds[writers]
	var prev []string
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more read after the last connect
		default:
		}
		recs, err := reader.ListUsers(bg, "reader")
		if err != nil {
			t.Fatalf("LIST_USERS: %v", err)
		}
		cur := strings.Fields(names(recs))
		// Every earlier list is a prefix of this one: the order seen
		// never changes and nothing seen goes away.
		if len(cur) < len(prev) || strings.Join(cur[:len(prev)], " ") != strings.Join(prev, " ") {
			t.Fatalf("LIST_USERS changed under the reader:\nbefore %v\nafter  %v", prev, cur)
		}
		prev = cur
	}
	if len(prev) != writers*each+1 {
		t.Errorf("%d connected at the end, want %d", len(prev), writers*each+1)
	}
}

// testExpiredContext: a request whose deadline has passed fails (the last
// code) and changes nothing.
func testExpiredContext(t *testing.T, e *env) {
	ctx, cancel := context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer cancel()
	if err := e.d.Register(ctx, "late"); err == nil || directory.IsRefusal(err) {
		t.Fatalf("REGISTER past its deadline: %v, want a store failure", err)
	}
	e.ok(register("late"))
}
