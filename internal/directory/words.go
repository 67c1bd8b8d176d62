package directory

// The word rule of SEARCH (PROTOCOL.md §2, "SEARCH (extension)"), in one
// place: the rules layer splits queries with it, and every store's index
// splits filenames and descriptions with it, so that both always agree on
// what a word is.

// MaxSearchResults is the most records one SEARCH answers: the first ones
// in §2's order.
const MaxSearchResults = 1000

// IsWordByte reports whether c belongs to a word: an ASCII letter, an
// ASCII digit, or a byte 0x80..0xFF (so the bytes of UTF-8 letters count
// as letters).
func IsWordByte(c byte) bool { return wordByte[c] }

// wordByte is IsWordByte as a table: a SEARCH reads every candidate's
// bytes with it.
var wordByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
	}
	return t
}()

// Words returns the distinct words of the fields, folded to lower case
// (ASCII only: 'A'..'Z' become 'a'..'z', every other byte stays), in the
// order they first appear. A word is a maximal run of word bytes
// (IsWordByte). A word that needs no folding is a substring of its field
// (no copy). Words("Song.MP3", "a song") is [song mp3 a].
func Words(fields ...string) []string {
	words := make([]string, 0, 8)
	var seen map[string]struct{} // once there are enough words to need it
	for _, s := range fields {
		for i := 0; i < len(s); {
			if !IsWordByte(s[i]) {
				i++
				continue
			}
			j := i
			upper := false
			for j < len(s) && IsWordByte(s[j]) {
				upper = upper || s[j] >= 'A' && s[j] <= 'Z'
				j++
			}
			w := s[i:j]
			if upper {
				w = foldASCII(w)
			}
			i = j
			if seen != nil {
				if _, dup := seen[w]; dup {
					continue
				}
				seen[w] = struct{}{}
			} else if contains(words, w) {
				continue
			}
			words = append(words, w)
			if len(words) == 16 && seen == nil {
				seen = make(map[string]struct{}, 32)
				for _, w := range words {
					seen[w] = struct{}{}
				}
			}
		}
	}
	return words
}

// Holds reports whether every one of words (folded, as Words gives them)
// is a word of the fields: what Words(fields...) would include, found
// without building it (no allocation). Up to 64 words take one pass over
// the fields (a SEARCH checks every candidate this way: one scan, not one
// per word); more take one pass per group of 64.
func Holds(words []string, fields ...string) bool {
	for len(words) > 64 {
		if !holds64(words[:64], fields) {
			return false
		}
		words = words[64:]
	}
	return len(words) == 0 || holds64(words, fields)
}

// holds64 is Holds for 1..64 words: one pass over the fields' words,
// ticking off the query's in a bit set.
func holds64(words []string, fields []string) bool {
	all := ^uint64(0) >> (64 - len(words))
	var found uint64
	for _, s := range fields {
		for i := 0; i < len(s); {
			if !IsWordByte(s[i]) {
				i++
				continue
			}
			j := i + 1
			for j < len(s) && IsWordByte(s[j]) {
				j++
			}
			for k, w := range words {
				if found&(1<<k) == 0 && len(w) == j-i && equalFolded(s[i:j], w) {
					if found |= 1 << k; found == all {
						return true
					}
				}
			}
			i = j
		}
	}
	return false
}

// equalFolded reports whether raw, folded, equals w.
func equalFolded(raw, w string) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// foldASCII returns w with 'A'..'Z' turned into 'a'..'z'.
func foldASCII(w string) string {
	b := []byte(w)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
