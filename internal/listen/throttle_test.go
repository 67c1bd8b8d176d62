package listen

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"p2p/internal/logging"
	"p2p/internal/testenv"
)

// TestWarningsThrottled floods the per-source cap: the warnings of one
// kind come at most once a second, and the line that ends a quiet second
// says how many were left out, so that every refusal is accounted for.
func TestWarningsThrottled(t *testing.T) {
	var out testenv.Buffer
	l, addr := echoServer(t, Config{MaxPerSource: 1, Name: "test", Log: logging.New(&out, "")})
	held := dialFrom(t, "127.0.0.2", addr)
	held.Write([]byte("x")) // admitted; the handler waits for the '.'
	waitSource(t, l, "127.0.0.2", 1)

	const burst = 20
	start := time.Now()
	for i := range burst {
		if err := refused("127.0.0.2", addr); err != nil {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	elapsed := time.Since(start)
	first := out.Lines()
	// One line a second at the most, the first at once.
	if max := 1 + int(elapsed/time.Second); len(first) > max {
		t.Fatalf("%d refusals in %v gave %d lines (at most %d):\n%s", burst, elapsed, len(first), max, strings.Join(first, "\n"))
	}
	time.Sleep(1100 * time.Millisecond) // not polling: a quiet second, the throttle's period
	if err := refused("127.0.0.2", addr); err != nil {
		t.Fatalf("refusal after a quiet second: %v", err)
	}
	all := out.Lines()
	if len(all) != len(first)+1 {
		t.Fatalf("after a quiet second, one more refusal gave %d lines, want 1:\n%s", len(all)-len(first), strings.Join(all, "\n"))
	}
	more := regexp.MustCompile(`\((\d+) more like it not shown\)$`)
	accounted := 0
	for _, l := range all {
		if !strings.HasPrefix(l, "test: 127.0.0.2 has 1 connections open (the per-source cap)") {
			t.Fatalf("unexpected line %q", l)
		}
		accounted++
		if m := more.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			accounted += n
		}
	}
	if accounted != burst+1 {
		t.Fatalf("the lines account for %d refusals, want %d:\n%s", accounted, burst+1, strings.Join(all, "\n"))
	}
	// Another source is still served.
	if got := ask(t, dialFrom(t, "127.0.0.1", addr), "hi."); got != "127.0.0.1 hi." {
		t.Fatalf("another source: %q", got)
	}
}
