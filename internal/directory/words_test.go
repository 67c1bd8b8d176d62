package directory

import (
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"Song.MP3"}, "song mp3"},
		{[]string{"mp3 SONG"}, "mp3 song"},
		{[]string{"a_b-c;d\"e'f g\th\x01i\x7fj/k\\l"}, "a b c d e f g h i j k l"},
		{[]string{"Track01 2024"}, "track01 2024"},
		{[]string{"ÑANDÚ canción"}, "ÑandÚ canción"}, // only ASCII folds: Ú stays
		{[]string{"\xff\xfeX"}, "\xff\xfex"},
		{[]string{"  ..;;--  "}, ""},
		{[]string{""}, ""},
		{[]string{"a A a", "A b"}, "a b"},
		{[]string{"Song.mp3", "a song I like"}, "song mp3 a i like"},
	}
	for _, c := range cases {
		if got := strings.Join(Words(c.in...), " "); got != c.want {
			t.Errorf("Words(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Many words: deduplication past the linear scan.
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", i%40+1) + " ")
	}
	if got := Words(b.String(), strings.ToUpper(b.String())); len(got) != 40 {
		t.Errorf("%d distinct words, want 40", len(got))
	}
}

func TestWordsSharesLowerCase(t *testing.T) {
	s := "already lower"
	w := Words(s)
	if len(w) != 2 || w[0] != "already" || w[1] != "lower" {
		t.Fatal(w)
	}
	if n := testing.AllocsPerRun(100, func() { Words(s) }); n > 1 {
		t.Errorf("%v allocations for two lower-case words, want 1 (the slice)", n)
	}
}
