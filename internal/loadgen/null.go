package loadgen

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"p2p/internal/wire"
)

// NullServer is the baseline: it accepts, reads one request with the same
// decoder, deadline and goroutine-per-connection as the central server,
// answers, and closes. It answers '0' to every request, except LIST_USERS
// answered with the reply StartNull was given, if any (the sized null
// server).
type NullServer struct {
	listUsers []byte
	ln        net.Listener
	wg        sync.WaitGroup
}

// StartNull listens on addr and serves until Close.
func StartNull(addr string, listUsersReply []byte) (*NullServer, error) {
	lc := net.ListenConfig{KeepAlive: -1} // as the central server
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, err
	}
	s := &NullServer{listUsers: listUsersReply, ln: ln}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the address it listens on.
func (s *NullServer) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting and waits for the connections in hand.
func (s *NullServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// acceptLoop accepts until Close, one goroutine per connection.
func (s *NullServer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// serveConn answers one request and closes.
func (s *NullServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	req, err := wire.ReadRequest(br)
	br.Reset(nil)
	readers.Put(br)
	if err != nil {
		return
	}
	if req.Op == wire.ListUsers && s.listUsers != nil {
		c.Write(s.listUsers)
		return
	}
	c.Write([]byte{'0'})
}

// ListUsersReply returns the bytes of a LIST_USERS success reply with n
// records shaped like real ones (username "user<i>", 127.0.0.1, a port).
func ListUsersReply(n int) []byte {
	recs := make([]wire.UserRecord, n)
	for i := range recs {
		recs[i] = wire.UserRecord{Username: UserName(i), IP: "127.0.0.1", Port: "40000"}
	}
	b, _ := wire.AppendUserList(nil, recs)
	return b
}

// UserName is the i-th username the benchmarks use.
func UserName(i int) string { return "user" + strconv.Itoa(i) }
