package csvstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/logging"
	"p2p/internal/testenv"
	"p2p/internal/wire"
)

// smallDisk mounts a 1 MiB tmpfs for the test and returns its folder, or
// skips the test loudly (fails it under P2P_REQUIRE_INTEROP) when this
// process may not mount.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Unavailable(t, fmt.Sprintf("mounting a 1 MiB tmpfs (needs root): %v %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// A last byte-by-byte pass fills the last page too.
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			break
		}
	}
}

// snapshot shows every entry under dir, with file contents.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			lines = append(lines, rel+"/")
		} else {
			b, _ := os.ReadFile(p)
			lines = append(lines, fmt.Sprintf("%s: %q", rel, b))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func openDir(t *testing.T, dir string) (*csvstore.Store, *directory.Directory) {
	t.Helper()
	st, err := csvstore.Open(csvstore.Options{Dir: dir, Sync: true, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // before the unmount (cleanups run newest first)
	return st, directory.New(st, directory.Options{})
}

// long makes a distinct username of 251 bytes, so that each line is big.
func long(prefix string, i int) string {
	s := fmt.Sprintf("%s%04d", prefix, i)
	return s + strings.Repeat("x", directory.MaxUsernameLen-len(s))
}

// TestStoreFullDisk: on a full file system, REGISTER, CONNECT and PUBLISH
// fail once their lines no longer fit; each failure leaves the folder as it
// was (no partial line, no whole line of a refused change), after a
// restart none of them is there, and the store works again once space is
// freed.
func TestStoreFullDisk(t *testing.T) {
	disk := smallDisk(t)
	data := filepath.Join(disk, "data")
	st, d := openDir(t, data)
	ctx := context.Background()
	const conns = 200
	for _, u := range []string{"a"} {
		if err := d.Register(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Connect(ctx, "a", "10.0.0.1", "1000"); err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		if err := d.Register(ctx, long("c", i)); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, filepath.Join(disk, "filler"))

	acked := map[string]bool{}   // operations answered OK
	refused := map[string]bool{} // answered the last code
	kinds := map[string]int{}    // refusals per operation
	try := func(name, kind string, f func() error) {
		before := snapshot(t, data)
		err := f()
		switch directory.OutcomeOf(err) {
		case wire.OK:
			acked[name] = true
		case wire.Failed:
			refused[name] = true
			if kinds[kind] == 0 {
				t.Logf("first %s refused: %v", kind, err)
			}
			kinds[kind]++
			if after := snapshot(t, data); after != before {
				t.Fatalf("%s failed (%v) but changed the folder:\nbefore:\n%s\nafter:\n%s", name, err, before, after)
			}
		default:
			t.Fatalf("%s: %v", name, err)
		}
	}
	// One at a time: each failure is checked byte for byte.
	for i := range 200 {
		u := long("r", i)
		try("register "+u, "REGISTER", func() error { return d.Register(ctx, u) })
	}
	for i := range 200 {
		f := fmt.Sprintf("%04d", i) + strings.Repeat("f", 250)
		try("publish "+f, "PUBLISH", func() error { return d.Publish(ctx, "a", f, strings.Repeat("d", 255)) })
	}
	for i := range conns / 2 {
		u := long("c", i)
		try("connect "+u, "CONNECT", func() error { return d.Connect(ctx, u, "10.0.0.2", "2000") })
	}
	// Many at once, so that batches carry several lines and part of them fit.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			u := long("q", i)
			err := d.Register(ctx, u)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				acked["register "+u] = true
			} else {
				refused["register "+u] = true
			}
		}()
		go func() {
			defer wg.Done()
			u := long("c", conns/2+i)
			err := d.Connect(ctx, u, "10.0.0.2", "2000")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				acked["connect "+u] = true
			} else {
				refused["connect "+u] = true
			}
		}()
	}
	wg.Wait()
	for _, k := range []string{"REGISTER", "PUBLISH", "CONNECT"} {
		if kinds[k] == 0 {
			t.Fatalf("no %s failed on the full disk: the test proves nothing", k)
		}
	}
	st.Close()

	os.Remove(filepath.Join(disk, "filler"))
	st, d = openDir(t, data)
	defer st.Close()
	users, err := d.ListUsers(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	connected := map[string]bool{}
	for _, r := range users {
		connected[r.Username] = true
	}
	files, err := d.ListContent(ctx, "a", "a")
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	for _, f := range files {
		published[f.Filename] = true
	}
	registered := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(data, csvstore.UsersFile))), "\n") {
		registered[l] = true
	}
	check := func(name string, there bool) {
		if refused[name] && there {
			t.Errorf("%s was answered the last code but is there after a restart", name)
		}
		if acked[name] && !there {
			t.Errorf("%s was answered OK but is gone after a restart", name)
		}
	}
	for name := range mergeKeys(acked, refused) {
		op, arg, _ := strings.Cut(name, " ")
		switch op {
		case "register":
			check(name, registered[arg])
		case "connect":
			check(name, connected[arg])
		case "publish":
			check(name, published[arg])
		}
	}
	// The space is back: the store works.
	if err := d.Register(ctx, "after"); err != nil {
		t.Fatalf("REGISTER once space is freed: %v", err)
	}
	if err := d.Publish(ctx, "a", "after", "d"); err != nil {
		t.Fatalf("PUBLISH once space is freed: %v", err)
	}
	t.Logf("refused: %v; %d acknowledged, %d refused in all", kinds, len(acked), len(refused))
}

func mergeKeys(ms ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
