package oncrpc

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"
)

// fakePortmapper serves portmapper version 2 from a map, refusing a SET of
// a (program, version, protocol) it already holds, as rpcbind does.
func fakePortmapper(t *testing.T) string {
	var mu sync.Mutex
	maps := map[[3]uint32]uint32{}
	parse := func(args []byte) ([3]uint32, uint32, error) {
		if len(args) != 16 {
			return [3]uint32{}, 0, ErrGarbageArgs
		}
		var k [3]uint32
		for i := range k {
			k[i] = binary.BigEndian.Uint32(args[4*i:])
		}
		return k, binary.BigEndian.Uint32(args[12:]), nil
	}
	boolean := func(res []byte, b bool) []byte {
		if b {
			return appendUint32(res, 1)
		}
		return appendUint32(res, 0)
	}
	_, addr := startServer(t, func(s *Server) {
		s.Register(PmapProgram, PmapVersion, map[uint32]Handler{
			PmapProcSet: func(_ *CallInfo, args, res []byte) ([]byte, error) {
				k, port, err := parse(args)
				if err != nil {
					return res, err
				}
				mu.Lock()
				defer mu.Unlock()
				if _, ok := maps[k]; ok {
					return boolean(res, false), nil
				}
				maps[k] = port
				return boolean(res, true), nil
			},
			PmapProcUnset: func(_ *CallInfo, args, res []byte) ([]byte, error) {
				k, _, err := parse(args)
				if err != nil {
					return res, err
				}
				mu.Lock()
				defer mu.Unlock()
				found := false
				for m := range maps {
					if m[0] == k[0] && m[1] == k[1] {
						delete(maps, m)
						found = true
					}
				}
				return boolean(res, found), nil
			},
			PmapProcGetPort: func(_ *CallInfo, args, res []byte) ([]byte, error) {
				k, _, err := parse(args)
				if err != nil {
					return res, err
				}
				mu.Lock()
				defer mu.Unlock()
				return appendUint32(res, maps[k]), nil
			},
		})
	})
	return addr
}

func TestPortmapperClient(t *testing.T) {
	pm, err := DialPortmapper(fakePortmapper(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Close()
	if err := pm.Null(); err != nil {
		t.Fatal(err)
	}
	m := Mapping{Prog: 0x20240512, Vers: 1, Prot: IPProtoTCP, Port: 8001}
	if ok, err := pm.Set(m); !ok || err != nil {
		t.Fatalf("Set = %v, %v", ok, err)
	}
	if port, err := pm.GetPort(m.Prog, 1, IPProtoTCP); port != 8001 || err != nil {
		t.Fatalf("GetPort = %d, %v", port, err)
	}
	// A second SET of a held program is refused: a restarted server must
	// UNSET first.
	if ok, err := pm.Set(Mapping{m.Prog, 1, IPProtoTCP, 9000}); ok || err != nil {
		t.Fatalf("second Set = %v, %v; want false", ok, err)
	}
	if ok, err := pm.Unset(m); !ok || err != nil {
		t.Fatalf("Unset = %v, %v", ok, err)
	}
	if port, err := pm.GetPort(m.Prog, 1, IPProtoTCP); port != 0 || err != nil {
		t.Fatalf("GetPort after Unset = %d, %v", port, err)
	}
	if ok, err := pm.Unset(m); ok || err != nil {
		t.Fatalf("Unset of nothing = %v, %v", ok, err)
	}
}

func TestPortmapperBadReplies(t *testing.T) {
	// A "portmapper" that answers GETPORT with no result, or a port past
	// 65535, gives an error rather than a bogus port.
	_, addr := startServer(t, func(s *Server) {
		s.Register(PmapProgram, PmapVersion, map[uint32]Handler{
			PmapProcGetPort: func(_ *CallInfo, args, res []byte) ([]byte, error) {
				if binary.BigEndian.Uint32(args) == 1 {
					return res, nil
				}
				return appendUint32(res, 70000), nil
			},
		})
	})
	pm, err := DialPortmapper(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Close()
	for _, prog := range []uint32{1, 2} {
		if port, err := pm.GetPort(prog, 1, IPProtoTCP); err == nil {
			t.Errorf("program %d: port %d, want an error", prog, port)
		}
	}
}
