package rpclog

import (
	"strings"
	"testing"
)

// Seeds live in testdata/fuzz/FuzzDecodeEntry/ (CI runs them as plain
// tests); `go test -fuzz FuzzDecodeEntry ./internal/rpclog` explores.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range []Entry{
		{"alice", "PUBLISH", "f.txt", "30/11/2026 17:20:00"},
		{"", "", "", ""},
		{strings.Repeat("u", MaxName), "REGISTER", "", strings.Repeat("d", MaxDateTime)},
	} {
		b, _ := AppendEntry(nil, e)
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, args []byte) {
		e, err := DecodeEntry(args)
		if err != nil {
			return
		}
		if len(e.Username) > MaxName || len(e.Operation) > MaxName || len(e.Filename) > MaxName || len(e.DateTime) > MaxDateTime {
			t.Fatalf("oversize field accepted: %+v", e)
		}
		b, err := AppendEntry(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if e2, err := DecodeEntry(b); err != nil || e2 != e {
			t.Fatalf("round trip: %+v, %v", e2, err)
		}
		if line := Line(e); !strings.HasPrefix(line, e.Username+" "+e.Operation+" ") {
			t.Fatalf("line %q", line)
		}
	})
}
