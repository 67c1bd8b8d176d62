package main

import (
	"strings"
	"testing"
)

// TestHelpAndBadFlags: -h prints the usage line and exits 0; a bad flag
// prints it and exits 2. Neither starts anything.
func TestHelpAndBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0}, {[]string{"-help"}, 0}, {[]string{"-x"}, 2}, {[]string{"-p", "80"}, 2},
	} {
		var stdout, stderr strings.Builder
		code := run(c.args, &stdout, &stderr)
		if code != c.code || stdout.Len() != 0 || stderr.String() != usage+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and the usage line", c.args, code, stdout.String(), stderr.String(), c.code)
		}
	}
}
