package shell

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepareHistory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hist")
	// Created for its owner only.
	if err := prepareHistory(path, 5); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 || st.Size() != 0 {
		t.Fatalf("new history file: %v %v", st.Mode(), err)
	}
	// Within the limit: untouched.
	os.WriteFile(path, []byte("REGISTER a\n\nCONNECT a\n"), 0o600)
	before, _ := os.Stat(path)
	if err := prepareHistory(path, 5); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !os.SameFile(before, after) {
		t.Error("a history within the limit was rewritten")
	}
	// Within the limit but with a last line the editor could not read
	// (no newline): ended, so that it is read and the next line the
	// editor appends does not join it.
	os.WriteFile(path, []byte("REGISTER a\nCONNECT a"), 0o600)
	if err := prepareHistory(path, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "REGISTER a\nCONNECT a\n" {
		t.Errorf("history with an unended last line: %q", got)
	}
	// Over it: the last lines that are not empty nor too long stay.
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, "LINE %d\r\n", i)
		if i == 9 {
			b.WriteString(strings.Repeat("x", maxHistoryLine+10) + "\n\n")
		}
	}
	b.WriteString("LAST")
	os.WriteFile(path, []byte(b.String()), 0o644)
	if err := prepareHistory(path, 5); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "LINE 8\nLINE 9\nLINE 10\nLINE 11\nLAST\n" {
		t.Errorf("trimmed history %q", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("rewritten history mode %v", st.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
	// A long line alone is dropped too.
	os.WriteFile(path, []byte("A\n"+strings.Repeat("y", 3*maxHistoryLine)), 0o600)
	if err := prepareHistory(path, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "A\n" {
		t.Errorf("history with a long last line: %q", got)
	}
	// Not a regular file: left alone. A folder that does not exist: an
	// error (the session then keeps no history).
	if err := prepareHistory(os.DevNull, 5); err != nil {
		t.Errorf("%s: %v", os.DevNull, err)
	}
	if err := prepareHistory(filepath.Join(dir, "no", "hist"), 5); err == nil {
		t.Error("no error for a history in a missing folder")
	}
}
