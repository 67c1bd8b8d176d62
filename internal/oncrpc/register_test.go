package oncrpc

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"p2p/internal/testenv"
)

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestClaimAndRelease: a stale mapping (its port dead, or our own) is
// replaced; one held by a live server is not; Release removes only a
// mapping that still names our port.
func TestClaimAndRelease(t *testing.T) {
	pm, err := DialPortmapper(fakePortmapper(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Close()
	_, live := startServer(t, nil) // serves testProg versions 1 and 3
	livePort := portOf(t, live)
	ours := Mapping{Prog: testProg, Vers: 1, Prot: IPProtoTCP, Port: uint32(testenv.FreePort(t))}
	mapped := func() int {
		t.Helper()
		p, err := pm.GetPort(ours.Prog, ours.Vers, ours.Prot)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const timeout = 2 * time.Second

	// Nothing mapped yet, then our own old mapping again.
	for range 2 {
		if err := Claim(pm, ours, "127.0.0.1", timeout); err != nil {
			t.Fatal(err)
		}
		if p := mapped(); p != int(ours.Port) {
			t.Fatalf("mapped to %d, want %d", p, ours.Port)
		}
	}

	// Left by a server that crashed: nothing listens on its port.
	dead := ours
	dead.Port = uint32(testenv.FreePort(t))
	if _, err := pm.Unset(ours); err != nil {
		t.Fatal(err)
	}
	if ok, err := pm.Set(dead); !ok || err != nil {
		t.Fatalf("Set = %v, %v", ok, err)
	}
	if err := Claim(pm, ours, "127.0.0.1", timeout); err != nil {
		t.Fatalf("claiming over a dead server's mapping: %v", err)
	}
	if p := mapped(); p != int(ours.Port) {
		t.Fatalf("mapped to %d, want %d", p, ours.Port)
	}

	// Held by a live server: left alone, both by Claim and by Release.
	held := ours
	held.Port = uint32(livePort)
	pm.Unset(ours)
	if ok, err := pm.Set(held); !ok || err != nil {
		t.Fatalf("Set = %v, %v", ok, err)
	}
	err = Claim(pm, ours, "127.0.0.1", timeout)
	var he *HeldError
	if !errors.As(err, &he) || he.Port != livePort {
		t.Fatalf("Claim over a live server = %v, want a HeldError naming port %d", err, livePort)
	}
	if ok, err := Release(pm, ours); ok || err != nil {
		t.Fatalf("Release of another server's mapping = %v, %v", ok, err)
	}
	if p := mapped(); p != livePort {
		t.Fatalf("mapped to %d, want the live server's %d", p, livePort)
	}

	// A server that answers on the port but not this version is stale.
	other := ours
	other.Vers = 2
	if ok, err := pm.Set(Mapping{testProg, 2, IPProtoTCP, uint32(livePort)}); !ok || err != nil {
		t.Fatalf("Set = %v, %v", ok, err)
	}
	if err := Claim(pm, other, "127.0.0.1", timeout); err != nil {
		t.Fatalf("claiming over a server without version 2: %v", err)
	}

	// Our own mapping is released.
	pm.Unset(ours)
	if err := Claim(pm, ours, "127.0.0.1", timeout); err != nil {
		t.Fatal(err)
	}
	if ok, err := Release(pm, ours); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	if p := mapped(); p != 0 {
		t.Fatalf("after Release mapped to %d", p)
	}
}
