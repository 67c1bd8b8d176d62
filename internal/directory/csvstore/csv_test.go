package csvstore

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCSVRoundTrip(t *testing.T) {
	long := strings.Repeat("ñ", 127) + ";" // 255 bytes
	rows := [][]string{
		{"alice"},
		{"a b", " lead", "\ttab"},
		{`say "hi"`, "semi;colon", "line\nbreak", "cr\r\nlf"},
		{"", "empty first"},
		{"é ü 日本", long},
	}
	var buf []byte
	for _, r := range rows {
		buf = appendRecord(buf, r...)
	}
	recs := parseCSV(buf)
	if len(recs) != len(rows) {
		t.Fatalf("%d records, want %d: %q", len(recs), len(rows), buf)
	}
	for i, r := range recs {
		if r.err != nil || !reflect.DeepEqual(r.fields, rows[i]) {
			t.Errorf("row %d: %q, %v; want %q", i, r.fields, r.err, rows[i])
		}
	}
	if got := string(appendRecord(nil, "alice", "127.0.0.1", "40123")); got != "alice;127.0.0.1;40123\n" {
		t.Errorf("plain values are written bare: %q", got)
	}
	if got := string(appendRecord(nil, `a;b`, `"q"`)); got != `"a;b";"""q"""`+"\n" {
		t.Errorf("quoting: %q", got)
	}
}

func TestCSVDamage(t *testing.T) {
	in := "alice\r\n\nbo\"b\n\"open;x\nok\";1\n\"q\"x;y\ncarol;2\ntorn"
	recs := parseCSV([]byte(in))
	type want struct {
		line   int
		fields []string
		bad    bool
	}
	wants := []want{
		{1, []string{"alice"}, false},
		{3, nil, true},                          // bare quote
		{4, []string{"open;x\nok", "1"}, false}, // a quoted line break spans lines
		{6, nil, true},                          // text after closing quote
		{7, []string{"carol", "2"}, false},
		{8, nil, true}, // torn
	}
	if len(recs) != len(wants) {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	for i, w := range wants {
		r := recs[i]
		if r.line != w.line || (r.err != nil) != w.bad || (!w.bad && !reflect.DeepEqual(r.fields, w.fields)) {
			t.Errorf("record %d: line %d fields %q err %v; want %+v", i, r.line, r.fields, r.err, w)
		}
	}
	if !errors.Is(recs[5].err, errTorn) {
		t.Errorf("last line: %v, want torn", recs[5].err)
	}
	if r := parseCSV([]byte("\"unterminated\n")); len(r) != 1 || !errors.Is(r[0].err, errTorn) {
		t.Errorf("unterminated quote: %+v", r)
	}
}
