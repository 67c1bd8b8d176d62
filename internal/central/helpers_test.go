package central

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/directory/pgstore"
	"p2p/internal/logging"
	"p2p/internal/rpclog"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

const testDateTime = "30/11/2026 17:20:00"

// recLogger records the entries handed to the logger seam.
type recLogger struct {
	mu      sync.Mutex
	entries []rpclog.Entry
}

func (l *recLogger) Log(e rpclog.Entry) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.mu.Unlock()
}

func (l *recLogger) all() []rpclog.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]rpclog.Entry(nil), l.entries...)
}

type testServer struct {
	*Server
	store   directory.Store
	dir     string // the CSV store's folder ("" for PostgreSQL)
	console *testenv.Buffer
	errs    *testenv.Buffer
	log     *recLogger
	once    sync.Once
}

// testConfig is a server's Config and the store it answers from: the CSV
// store in a new folder of the test's unless Dir is set, or with Postgres
// the PostgreSQL store in a new database unless DSN is set.
type testConfig struct {
	Config
	Dir  string
	Sync bool

	Postgres bool
	DSN      string
}

// stores are the two kinds of store a test can run against.
var stores = []struct {
	name     string
	postgres bool
}{{"csv", false}, {"postgres", true}}

// forEachStore runs test once per kind of store, as subtests named after
// it; test sets the store in its testConfig from postgres.
func forEachStore(t *testing.T, test func(t *testing.T, postgres bool)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { test(t, st.postgres) })
	}
}

func startServer(t testing.TB, tc testConfig) *testServer {
	t.Helper()
	ts := &testServer{console: new(testenv.Buffer), errs: new(testenv.Buffer), log: new(recLogger)}
	var store directory.Store
	if tc.Postgres || tc.DSN != "" {
		if tc.DSN == "" {
			tc.DSN = testenv.Postgres(t)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		st, err := pgstore.Open(ctx, tc.DSN, pgstore.Options{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		store = st
	} else {
		if tc.Dir == "" {
			tc.Dir = t.TempDir()
		}
		ts.dir = tc.Dir
		st, err := csvstore.Open(csvstore.Options{Dir: tc.Dir, Sync: tc.Sync, Log: logging.New(ts.errs, "server")})
		if err != nil {
			t.Fatal(err)
		}
		store = st
	}
	ts.store = store
	cfg := tc.Config
	cfg.Directory = directory.New(store, directory.Options{Log: logging.New(ts.errs, "server")})
	cfg.Addr = "127.0.0.1:0"
	if cfg.Console == nil {
		cfg.Console = ts.console
	}
	cfg.Log = logging.New(ts.errs, "server")
	if cfg.OpLog == nil {
		cfg.OpLog = ts.log
	}
	srv, err := Start(cfg)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	ts.Server = srv
	t.Cleanup(func() { ts.Close() })
	return ts
}

// Close stops the server, then closes its store.
func (ts *testServer) Close() error {
	var err error
	ts.once.Do(func() {
		ts.Server.Close()
		err = ts.store.Close()
	})
	return err
}

// req builds the bytes of a request.
func req(t testing.TB, op wire.Op, user string, extra ...string) []byte {
	t.Helper()
	r := testenv.Request(op, testDateTime, user, extra...)
	b, err := wire.AppendRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// send writes raw bytes on a new connection and returns everything the
// server sent before closing.
func send(t testing.TB, addr string, raw []byte) []byte {
	t.Helper()
	got, err := tryRequest(addr, raw)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(got)
}

// tryRequest is send without the test: the error is the caller's (a
// server being killed under load, for one).
func tryRequest(addr string, raw []byte) (string, error) {
	var got []byte
	c := wire.Client{Timeout: 30 * time.Second}
	err := c.Send(context.Background(), addr, raw, func(r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		return nil
	})
	return string(got), err
}

// status sends a request and returns its whole reply as a string.
func (ts *testServer) do(t testing.TB, op wire.Op, user string, extra ...string) string {
	t.Helper()
	return string(send(t, ts.Addr().String(), req(t, op, user, extra...)))
}

// dirFiles returns every file of the data folder (relative path → content).
func dirFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func showFiles(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + ": " + strings.ReplaceAll(m[k], "\n", `\n`) + "\n")
	}
	return b.String()
}

func userList(recs ...wire.UserRecord) string {
	b, _ := wire.AppendUserList(nil, recs)
	return string(b)
}

func fileList(recs ...wire.FileRecord) string {
	b, _ := wire.AppendFileList(nil, recs)
	return string(b)
}

func searchList(recs ...wire.SearchRecord) string {
	b, _ := wire.AppendSearchList(nil, recs)
	return string(b)
}
