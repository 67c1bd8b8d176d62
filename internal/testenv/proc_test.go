package testenv

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcOutputCompleteAtExit: once Wait has returned, everything the
// process wrote is in the buffers.
func TestProcOutputCompleteAtExit(t *testing.T) {
	p := Start(t, exec.Command("sh", "-c", `i=0; while [ $i -lt 2000 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done; exit 3`))
	err := p.Wait(30 * time.Second)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	out, errs := p.Stdout.Lines(), p.Stderr.Lines()
	if len(out) != 2000 || out[1999] != "line 1999" || len(errs) != 2000 || errs[1999] != "err 1999" {
		t.Fatalf("after exit: %d stdout lines, %d stderr lines", len(out), len(errs))
	}
}

// TestProcKillsGroupAfterLeader: with Setpgid, Kill reaches a child the
// process left running when it exited.
func TestProcKillsGroupAfterLeader(t *testing.T) {
	cmd := exec.Command("sh", "-c", `sleep 300 >/dev/null 2>&1 </dev/null & echo $!`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := Start(t, cmd)
	if err := p.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(p.Stdout.String()))
	if err != nil {
		t.Fatalf("the child's pid: %q", p.Stdout.String())
	}
	alive := func() bool {
		// A zombie waiting for its new parent counts as gone.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err == nil && !strings.Contains(string(b), ") Z ")
	}
	if !alive() {
		t.Fatalf("the child %d is not running", pid)
	}
	p.Kill()
	Eventually(t, 30*time.Second, "the child to die", func() bool { return !alive() })
}
