package tempfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"p2p/internal/testenv"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func TestCreateAndRemoveStale(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir, "song.mp3")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(f.Name())
	if !strings.HasPrefix(base, ".song.mp3.") || !strings.HasSuffix(base, Suffix) || filepath.Dir(f.Name()) != dir {
		t.Fatalf("name %q", f.Name())
	}
	if st, err := os.Stat(f.Name()); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v %v", st.Mode(), err)
	}
	if _, err := f.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{base}) {
		t.Fatalf("folder holds %q", got)
	}
	// Open (locked): a live client's, kept.
	if removed, err := RemoveStale(dir); err != nil || len(removed) != 0 {
		t.Fatalf("removed %q while open: %v", removed, err)
	}
	f.Close()
	if removed, err := RemoveStale(dir); err != nil || !slices.Equal(removed, []string{base}) {
		t.Fatalf("after close removed %q, %v", removed, err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Fatalf("left %q", got)
	}
	// A long prefix is cut so the name fits 255 bytes.
	f, err = Create(dir, strings.Repeat("x", 255))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(filepath.Base(f.Name())); n > 255 {
		t.Errorf("name of %d bytes", n)
	}
	f.Close()
}

func TestRemoveStaleLeavesOthersAlone(t *testing.T) {
	dir := t.TempDir()
	keep := []string{".hidden", "a.p2p-tmp", ".young.1.p2p-new", ".link.p2p-tmp", ".fifo.p2p-tmp", ".dir.p2p-tmp"}
	os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "a.p2p-tmp"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".young.1.p2p-new"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "target"), []byte("precious"), 0o644)
	os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, ".link.p2p-tmp"))
	syscall.Mkfifo(filepath.Join(dir, ".fifo.p2p-tmp"), 0o644)
	os.Mkdir(filepath.Join(dir, ".dir.p2p-tmp"), 0o755)
	// A leftover of a crash between create and rename: old enough.
	old := filepath.Join(dir, ".old.1.p2p-new")
	os.WriteFile(old, nil, 0o644)
	past := time.Now().Add(-2 * newAge)
	os.Chtimes(old, past, past)
	removed, err := RemoveStale(dir)
	if err != nil || !slices.Equal(removed, []string{".old.1.p2p-new"}) {
		t.Fatalf("removed %q, %v", removed, err)
	}
	got := names(t, dir)
	for _, k := range append(keep, "target") {
		if !slices.Contains(got, k) {
			t.Errorf("%s removed", k)
		}
	}
}

const helperEnv = "P2P_TEMPFILE_HELPER_DIR"

// TestHelperHolder is not a test: in a subprocess with helperEnv set, it
// creates a temporary file, prints its name and waits to be killed.
func TestHelperHolder(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	f, err := Create(dir, "download")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	f.WriteString("half a file")
	fmt.Println(f.Name())
	time.Sleep(10 * time.Minute)
	os.Exit(1)
}

// TestKilledHolder: the file of another process is kept while it lives,
// removed once it was SIGKILLed.
func TestKilledHolder(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHolder$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	p := testenv.Start(t, cmd)
	p.WaitFor(60*time.Second, "the helper's first line", func() bool { return len(p.Stdout.Lines()) > 0 })
	line := p.Stdout.Lines()[0]
	name := filepath.Base(strings.TrimSpace(line))
	if !strings.HasSuffix(name, Suffix) {
		t.Fatalf("helper said %q", line)
	}
	if removed, err := RemoveStale(dir); err != nil || len(removed) != 0 {
		t.Fatalf("removed %q of a live process: %v", removed, err)
	}
	p.Kill()
	if removed, err := RemoveStale(dir); err != nil || !slices.Equal(removed, []string{name}) {
		t.Fatalf("after the kill removed %q, %v", removed, err)
	}
}
