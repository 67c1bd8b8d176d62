package loadgen

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"p2p/internal/testenv"
	"p2p/internal/wire"
)

func TestNullAndRun(t *testing.T) {
	reply := ListUsersReply(3)
	s, err := StartNull("127.0.0.1:0", reply)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req := func(op wire.Op) func(int) []byte {
		return func(i int) []byte {
			b, _ := wire.AppendRequest(nil, wire.Request{Op: op, DateTime: "d", Username: UserName(i)})
			return b
		}
	}
	r := Run(s.Addr().String(), 4, 50, req(wire.Register))
	if r.Requests != 50 || r.OK != 50 || r.Errors != 0 || r.Rate() <= 0 {
		t.Errorf("register on null: %v (%v)", r, r.FirstErr)
	}
	r = Run(s.Addr().String(), 2, 10, req(wire.ListUsers))
	if r.Requests != 10 || r.OK != 10 {
		t.Errorf("list users on sized null: %v", r)
	}
	// A request the null server cannot read gets no reply: an error.
	r = Run(s.Addr().String(), 1, 1, func(int) []byte { return []byte("BAD\x00") })
	if r.Errors != 1 || r.Requests != 0 {
		t.Errorf("bad request: %v", r)
	}
	if len(reply) != 1+4+3*wire.UserRecordSize || UserName(120) != "user120" {
		t.Errorf("reply of %d bytes, name %q", len(reply), UserName(120))
	}
	// /proc's count (10 ms ticks) agrees with getrusage after some work.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	cpu, err := ProcessCPU(os.Getpid())
	if self := testenv.CPUTime(); err != nil || cpu < self-50*time.Millisecond || cpu > self+50*time.Millisecond || cpu < 200*time.Millisecond {
		t.Errorf("ProcessCPU = %v, %v; getrusage says %v", cpu, err, self)
	}
}

// TestTreeCPU: a process whose work is done by its descendants (a live
// grandchild, and a child it has reaped) costs what they burn, while its
// own CPU time stays near zero.
func TestTreeCPU(t *testing.T) {
	burn := `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`
	cmd := exec.Command("sh", "-c", "sh -c '"+burn+"'; sh -c '"+burn+"; sleep 30' & sleep 30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that one kill ends them all
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	var tree time.Duration
	testenv.Poll(20*time.Second, func() bool {
		var err error
		if tree, err = TreeCPU(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		return tree >= 200*time.Millisecond
	})
	own, err := ProcessCPU(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if tree < 200*time.Millisecond || own > tree/4 {
		t.Errorf("tree %v, own %v: want the descendants' work counted in the tree", tree, own)
	}
}
