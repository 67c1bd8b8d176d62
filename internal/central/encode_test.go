package central

import (
	"bytes"
	"strings"
	"testing"

	"p2p/internal/wire"
)

// The fast list encoders give exactly wire's bytes, and refuse what wire
// refuses.
func TestEncodersMatchWire(t *testing.T) {
	long := strings.Repeat("é", 127) + "x"
	users := []wire.UserRecord{{Username: "alice", IP: "127.0.0.1", Port: "1"}, {Username: long, IP: "255.255.255.255", Port: "65535"}, {}}
	files := []wire.FileRecord{{Filename: long, Description: long}, {Filename: "a;b", Description: ""}}
	for _, n := range []int{0, 1, len(users)} {
		want, err := wire.AppendUserList([]byte("x"), users[:n])
		got, ok := appendUserList([]byte("x"), users[:n])
		if err != nil || !ok || !bytes.Equal(got, want) {
			t.Errorf("user list of %d differs (%v %v)", n, err, ok)
		}
	}
	want, _ := wire.AppendFileList(nil, files)
	if got, ok := appendFileList(nil, files); !ok || !bytes.Equal(got, want) {
		t.Error("file list differs")
	}
	for _, bad := range []wire.UserRecord{{Username: long + "y"}, {Username: "a\x00b"}, {IP: "1234567890123456"}, {Port: "123456"}} {
		if got, ok := appendUserList([]byte("keep"), []wire.UserRecord{bad}); ok || string(got) != "keep" {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, ok := appendFileList(nil, []wire.FileRecord{{Description: long + "y"}}); ok {
		t.Error("long description accepted")
	}
}
