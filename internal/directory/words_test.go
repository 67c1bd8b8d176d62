package directory

import (
	"strconv"
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

// TestHolds: Holds agrees with Words, without allocating.
func TestHolds(t *testing.T) {
	fields := []string{"Song.MP3", "a song; ÑANDÚ_x1"}
	have := Words(fields...)
	for _, q := range []string{"song", "mp3", "a", "ÑandÚ", "x1", "son", "x", "ñandú", "songs", "mp", ""} {
		want := q != "" && contains(have, q)
		if q == "" {
			want = false
		}
		if got := Holds([]string{q}, fields...); got != want {
			t.Errorf("Holds(%q) = %v, want %v", q, got, want)
		}
	}
	if !Holds(nil, fields...) || !Holds(have, fields...) || Holds([]string{"song", "nope"}, fields...) {
		t.Error("Holds of several words")
	}
	if n := testing.AllocsPerRun(100, func() { Holds(have, fields...) }); n != 0 {
		t.Errorf("Holds allocates %v times", n)
	}
}

// TestHoldsMany: more than 64 query words (a 256-byte words field holds up
// to 128) are checked in groups of 64, a miss in any group failing.
func TestHoldsMany(t *testing.T) {
	var words []string
	for i := range 130 {
		words = append(words, "w"+strconv.Itoa(i))
	}
	field := strings.ToUpper(strings.Join(words, " "))
	if !Holds(words, field) {
		t.Error("Holds of 130 words present")
	}
	for _, miss := range []int{0, 63, 64, 127, 128, 129} {
		q := append([]string(nil), words...)
		q[miss] = "absent"
		if Holds(q, field) {
			t.Errorf("Holds with word %d absent = true", miss)
		}
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
