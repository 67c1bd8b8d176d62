package testenv

import (
	"testing"
	"time"
)

// Poll calls cond until it reports true or timeout has passed, and reports
// whether it did. It sleeps 5 ms after the first try, doubling up to
// 100 ms; cond is tried once more after the deadline has passed.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
}

// Eventually fails t at once when cond has not come true within timeout;
// what says what was waited for. A test that must say more on failure
// (the state it saw) calls Poll and fails itself.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
