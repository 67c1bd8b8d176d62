package show

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"song.mp3", "song.mp3"},
		{`a "quoted" b;c \ d`, `a "quoted" b;c \ d`},
		{"José ünïcödé 日本 🎵", "José ünïcödé 日本 🎵"},
		{"\n\tbob x \"forged\"", `\x0a\x09bob x "forged"`},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"cr\rlf\n", `cr\x0dlf\x0a`},
		{"del\x7f", `del\x7f`},
		{"nul\x00", `nul\x00`},
		{"\x01\x1f ", `\x01\x1f `},
		// C1: U+0085 (NEL), U+009B (CSI), both bytes of each.
		{"a\u0085b\u009b2J", `a\xc2\x85b\xc2\x9b2J`},
		// The neighbours of C1 are shown as they are.
		{"\u007e\u00a0\u00ff", "\u007e\u00a0\u00ff"},
		// Not UTF-8: each bad byte, the valid ones around them as is.
		{"\xff\xfeok\xc3", `\xff\xfeok\xc3`},
		{"\xc2", `\xc2`},
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a surrogate half
		{"\xe2\x82", `\xe2\x82`},         // cut short
		// U+FFFD itself is a valid character.
		{"\uFFFD", "\uFFFD"},
	}
	for _, tc := range tests {
		if got := Value(tc.in); got != tc.want {
			t.Errorf("Value(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := string(Append([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("Append(%q) = %q", tc.in, got)
		}
		if Safe(tc.in) != (tc.in == tc.want) {
			t.Errorf("Safe(%q) = %v", tc.in, Safe(tc.in))
		}
	}
}

// FuzzValue: whatever the bytes, the shown form is valid UTF-8 with no
// control character, Value is idempotent, and a safe value is unchanged.
func FuzzValue(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[31m", "\xc2\x9b", "\xff", "日本\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Value(s)
		if !utf8.ValidString(v) {
			t.Fatalf("Value(%q) = %q: not UTF-8", s, v)
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }) {
			t.Fatalf("Value(%q) = %q holds a control character", s, v)
		}
		if Value(v) != v {
			t.Fatalf("Value not idempotent on %q", s)
		}
		if Safe(s) && v != s {
			t.Fatalf("safe %q changed to %q", s, v)
		}
	})
}

func BenchmarkValueSafe(b *testing.B) {
	s := strings.Repeat("a song I like ", 18)
	b.ReportAllocs()
	for b.Loop() {
		Value(s)
	}
}
