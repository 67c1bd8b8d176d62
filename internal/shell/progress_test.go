package shell

import (
	"strings"
	"testing"
	"time"

	"p2p/internal/testenv"
)

func TestProgressLine(t *testing.T) {
	var b testenv.Buffer
	p := &progress{out: &console{stdout: &b, stderr: &b}, start: time.Now()}
	p.update(1<<20, 4<<20) // within the first moment: nothing
	p.done()
	if b.String() != "" {
		t.Fatalf("a short transfer drew %q", b.String())
	}
	p.start = time.Now().Add(-2 * time.Second)
	p.update(2<<20, 4<<20)
	got := b.String()
	if !strings.HasPrefix(got, "\r\x1b[K2.0 MiB of 4.0 MiB (50%), ") || !strings.HasSuffix(got, "MiB/s") {
		t.Errorf("progress line %q", got)
	}
	p.drawn = time.Time{}
	p.update(3<<20, -1) // a plain GET_FILE has no total
	if got := strings.TrimPrefix(b.String(), got); !strings.HasPrefix(got, "\r\x1b[K3.0 MiB, ") {
		t.Errorf("progress line without total %q", got)
	}
	p.done()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Error("the progress line is not erased at the end")
	}
}
