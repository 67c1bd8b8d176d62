package portarg

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		s    string
		min  int
		want int
		ok   bool
	}{
		{"8001", 1024, 8001, true}, {"1024", 1024, 1024, true}, {"65535", 1, 65535, true}, {"0", 0, 0, true},
		{"1023", 1024, 0, false}, {"0", 1, 0, false}, {"65536", 0, 0, false}, {"", 0, 0, false},
		{"+2000", 0, 0, false}, {"-1", 0, 0, false}, {" 80", 0, 0, false}, {"0x1f", 0, 0, false}, {"1e3", 0, 0, false},
	} {
		got, err := Parse(c.s, c.min)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("Parse(%q, %d) = %d, %v", c.s, c.min, got, err)
		}
	}
	if _, err := Parse("80", 1024); err == nil || err.Error() != `port "80" is not in 1024..65535` {
		t.Errorf("message %v", err)
	}
}
