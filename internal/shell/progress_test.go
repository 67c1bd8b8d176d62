package shell

import (
	"strings"
	"testing"
	"time"

	"p2p/internal/testenv"
)

func TestProgressLine(t *testing.T) {
	var b testenv.Buffer
	out := &console{stdout: &b, stderr: &b}
	now := time.Unix(1000, 0)
	p := newProgress(out, func() time.Time { return now })
	step := func(d time.Duration, done, total int64) string {
		before := b.String()
		now = now.Add(d)
		p.update(done, total)
		return strings.TrimPrefix(b.String(), before)
	}
	if got := step(400*time.Millisecond, 1<<20, 4<<20); got != "" {
		t.Fatalf("drawn within the first moment: %q", got)
	}
	// 2 MiB in the first second: 2 MiB/s, 2 MiB to go.
	if got := step(600*time.Millisecond, 2<<20, 4<<20); got != "\r\x1b[K 50%  2.0 MiB of 4.0 MiB  2.0 MiB/s  1s left" {
		t.Errorf("first line %q", got)
	}
	// A few times a second at most.
	if got := step(100*time.Millisecond, 3<<20, 4<<20); got != "" {
		t.Errorf("redrawn after 100 ms: %q", got)
	}
	// The rate is smoothed: 1 MiB in 0.25 s (4 MiB/s) moves it to
	// 0.3*4 + 0.7*2 = 2.6 MiB/s.
	if got := step(150*time.Millisecond, 3<<20, 4<<20); got != "\r\x1b[K 75%  3.0 MiB of 4.0 MiB  2.6 MiB/s  1s left" {
		t.Errorf("second line %q", got)
	}
	// A listener's message while the line is up: the line is erased,
	// the message written, the line drawn again.
	before := b.String()
	out.errline("peer: sent \"x\"")
	if got := strings.TrimPrefix(b.String(), before); got != "\r\x1b[Kpeer: sent \"x\"\n 75%  3.0 MiB of 4.0 MiB  2.6 MiB/s  1s left" {
		t.Errorf("message during the progress line: %q", got)
	}
	before = b.String()
	p.done()
	if got := strings.TrimPrefix(b.String(), before); got != "\r\x1b[K" {
		t.Errorf("end: %q, want the line erased", got)
	}
	before = b.String()
	out.line("GET_FILE OK")
	if got := strings.TrimPrefix(b.String(), before); got != "GET_FILE OK\n" {
		t.Errorf("after the end: %q", got)
	}

	// A short transfer draws nothing, and erases nothing.
	before = b.String()
	p = newProgress(out, func() time.Time { return now })
	p.update(100, 100)
	p.done()
	if got := strings.TrimPrefix(b.String(), before); got != "" {
		t.Errorf("a short transfer drew %q", got)
	}
}

func TestProgressText(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		rate        float64
		want        string
	}{
		{0, 1000, 0, "  0%  0 B of 1000 B  0 B/s"},
		{512, 2048, 1024, " 25%  512 B of 2.0 KiB  1.0 KiB/s  2s left"},
		{3 << 30, 4 << 30, 10 << 20, " 75%  3.0 GiB of 4.0 GiB  10.0 MiB/s  1m43s left"},
		{1, 1 << 40, 1, "  0%  1 B of 1.0 TiB  1 B/s  99h+ left"},
		{1 << 30, 2 << 30, 100 << 10, " 50%  1.0 GiB of 2.0 GiB  100.0 KiB/s  2h54m left"},
		{10, 10, 5, "100%  10 B of 10 B  5 B/s"},
		{0, 0, 0, "100%  0 B of 0 B  0 B/s"},
		// Plain GET_FILE: no size, so bytes and rate only.
		{5 << 20, -1, 1 << 20, "5.0 MiB  1.0 MiB/s"},
		{0, -1, 0, "0 B  0 B/s"},
	} {
		if got := progressLine(c.done, c.total, c.rate); got != c.want {
			t.Errorf("progressLine(%d, %d, %g) = %q, want %q", c.done, c.total, c.rate, got, c.want)
		}
		if len(c.want) >= 60 {
			t.Errorf("%q: 60 columns or more", c.want)
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0s", 1: "1s", time.Second: "1s", 59 * time.Second: "59s", 60 * time.Second: "1m00s",
		3599 * time.Second: "59m59s", time.Hour: "1h00m", 99*time.Hour + 59*time.Minute: "99h59m", 100 * time.Hour: "99h+",
	} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
	}
}
