package testenv

import (
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(time.Second, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("Poll stopped after %d calls", n)
	}
	start := time.Now()
	n = 0
	if Poll(50*time.Millisecond, func() bool { n++; return false }) {
		t.Error("Poll reported a condition that never held")
	}
	if took := time.Since(start); took < 50*time.Millisecond || n < 2 {
		t.Errorf("Poll gave up after %v and %d calls", took, n)
	}
	Eventually(t, time.Second, "a true condition", func() bool { return true })
}
