package csvstore

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"p2p/internal/logging"
)

// FuzzParseCSV: the reader never panics, and every record it accepts
// survives the writer and the reader again unchanged.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("alice\nbob;1.2.3.4;5\r\n\"a;b\";\"say \"\"hi\"\"\"\n"))
	f.Add([]byte("\"open\nquote"))
	f.Add([]byte("bare\"quote\n\n\n;;\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, r := range parseCSV(in) {
			if r.err != nil {
				continue
			}
			back := parseCSV(appendRecord(nil, r.fields...))
			if len(r.fields) == 1 && r.fields[0] == "" {
				continue // an empty one-value record is a blank line: skipped
			}
			if len(back) != 1 || back[0].err != nil || !reflect.DeepEqual(back[0].fields, r.fields) {
				t.Fatalf("%q re-read as %+v", r.fields, back)
			}
		}
	})
}

// FuzzLoad: whatever the three files hold, Open never panics; when it
// starts, it has rewritten them so that a second Open finds nothing to
// report and the same state.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("a\nb\n"), []byte("a;127.0.0.1;4000\n"), []byte("f;d\n"))
	f.Add([]byte("a\n../x\na"), []byte("a;1;2\nb;1.2.3.4;70000\n"), []byte("\"f;1\";\"d\"\"\"\nf\n"))
	f.Add([]byte{}, []byte("\xff\x00;\n"), []byte("\"\n"))
	f.Fuzz(func(t *testing.T, users, conns, list []byte) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, FilesDir), 0o755)
		os.WriteFile(filepath.Join(dir, UsersFile), users, 0o644)
		os.WriteFile(filepath.Join(dir, ConnectedFile), conns, 0o644)
		os.WriteFile(filepath.Join(dir, FilesDir, "a.csv"), list, 0o644)
		var warn bytes.Buffer
		s, err := Open(Options{Dir: dir, Log: logging.New(&warn, "server")})
		if err != nil {
			return
		}
		first := snapshot(s)
		s.Close()
		warn.Reset()
		s, err = Open(Options{Dir: dir, Log: logging.New(&warn, "server")})
		if err != nil {
			t.Fatalf("second open: %v", err)
		}
		defer s.Close()
		if warn.Len() > 0 {
			t.Fatalf("second open reported:\n%s", warn.String())
		}
		if second := snapshot(s); !reflect.DeepEqual(first, second) {
			t.Fatalf("state changed across a restart:\n%v\n%v", first, second)
		}
	})
}

// snapshot lists a store's state.
func snapshot(s *Store) []string {
	var out []string
	s.users.each(func(u string, _ struct{}) { out = append(out, "user "+u) })
	s.conns.each(func(u string, a addr) {
		out = append(out, "conn "+u+" "+a.ip+" "+a.port)
		s.files[u].each(func(f, d string) { out = append(out, "file "+u+" "+f+" "+d) })
	})
	return out
}
