package rpclog

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"p2p/internal/logging"
	"p2p/internal/oncrpc"
)

// Defaults of a SenderConfig.
const (
	DefaultHost      = "127.0.0.1"
	DefaultPort      = 8001
	DefaultTimeout   = time.Second
	DefaultQueueSize = 8192
	// DefaultCloseWait bounds how long Close keeps sending what is queued.
	DefaultCloseWait = 2 * time.Second
)

// SenderConfig says where and how the central server sends its log calls.
type SenderConfig struct {
	// Host is the log server's host (empty: DefaultHost).
	Host string
	// Port is the log server's TCP port; 0 means: ask Host's portmapper
	// at every (re)connection, and use DefaultPort when it does not know.
	Port int
	// Timeout bounds each dial, portmapper query and call (0: DefaultTimeout).
	Timeout time.Duration
	// QueueSize bounds the entries waiting to be sent (0: DefaultQueueSize).
	QueueSize int
	// CloseWait bounds how long Close spends sending the rest of the
	// queue (0: DefaultCloseWait).
	CloseWait time.Duration
	// Log gets the sender's warnings: one when an outage begins, one when
	// it ends (with the entries it cost), one the first time an entry
	// cannot be encoded. Nil: no output.
	Log *slog.Logger
}

// Sender is the central server's logger: Log queues an entry and returns
// at once; one background goroutine sends the entries, in order, over one
// persistent connection that it re-dials after a failure. When the queue is
// full or the log server is unreachable, entries are dropped and one
// warning per outage goes to cfg.Log.
type Sender struct {
	cfg SenderConfig

	mu     sync.RWMutex // guards closed against q's close
	closed bool
	q      chan Entry
	abort  chan struct{}
	done   chan struct{}

	wmu       sync.Mutex // guards the outage state, so its lines come in order
	down      bool
	dropped   int
	badWarned bool // an entry over the bounds was reported

	client *oncrpc.Client // only the sending goroutine touches these
	buf    []byte
	args   [][]byte
}

// NewSender starts the background sender.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.CloseWait <= 0 {
		cfg.CloseWait = DefaultCloseWait
	}
	if cfg.Log == nil {
		cfg.Log = logging.Discard()
	}
	s := &Sender{
		cfg:   cfg,
		q:     make(chan Entry, cfg.QueueSize),
		abort: make(chan struct{}),
		done:  make(chan struct{}),
	}
	go s.run()
	return s
}

// Log queues e for sending. It never blocks: when the queue is full the
// entry is dropped (with one warning per outage). An entry over the .x
// file's bounds is dropped with a warning of its own (the first time).
// After Close it does nothing.
func (s *Sender) Log(e Entry) {
	if err := e.check(); err != nil {
		s.refused(err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	select {
	case s.q <- e:
	default:
		s.outage("queue full (log server slow or down)", 1)
	}
}

// Close stops taking entries, sends what is queued for up to CloseWait,
// then stops the sender and closes its connection. It returns within
// CloseWait plus what the batch in flight may still take (at most a
// portmapper query, two dials and two calls, each bounded by Timeout),
// with an error when entries were still queued (entries dropped during an
// outage were already warned about).
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	close(s.q)
	s.mu.Unlock()
	t := time.NewTimer(s.cfg.CloseWait)
	defer t.Stop()
	select {
	case <-s.done:
		return nil
	case <-t.C:
	}
	close(s.abort)
	<-s.done
	if n := len(s.q); n > 0 {
		return fmt.Errorf("rpc log: %d entries not sent at close", n)
	}
	return nil
}

// MaxBatch bounds the calls a Sender pipelines in one write.
const MaxBatch = 256

// batchLinger is how long the sender waits for more entries before it
// sends what it has.
const batchLinger = 5 * time.Millisecond

// run is the one sending goroutine. It takes what is queued (up to
// MaxBatch entries) and pipelines it over the connection: one write for
// the calls, then their replies, so a slow round trip does not cap the rate.
func (s *Sender) run() {
	defer close(s.done)
	defer func() {
		if s.client != nil {
			s.client.Close()
		}
	}()
	var retryAt time.Time
	backoff := 50 * time.Millisecond
	batch := make([]Entry, 0, MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for e := range s.q {
		batch = append(batch[:0], e)
		// Gather what comes within batchLinger: under load one write then
		// carries many calls, which costs the sender and the log server far
		// less CPU than a round trip per request; an entry waits at most
		// batchLinger, and the directory never waits at all.
		linger.Reset(batchLinger)
	gather:
		for len(batch) < MaxBatch {
			select {
			case e, ok := <-s.q:
				if !ok {
					break gather
				}
				batch = append(batch, e)
			case <-linger.C:
				break gather
			}
		}
		linger.Stop()
		select {
		case <-s.abort:
			return
		default:
		}
		if s.client == nil && time.Now().Before(retryAt) {
			s.outage("", len(batch)) // still down: drop without waiting
			continue
		}
		if lost, err := s.send(batch); err != nil {
			s.outage(err.Error(), lost)
			if s.client == nil {
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, 2*time.Second)
			}
			continue
		}
		backoff = 50 * time.Millisecond
		s.recovered()
	}
}

// send makes one LOG_OPERATION call per entry, pipelined, dialling when
// there is no connection, and returns how many entries were lost. When a
// reused connection fails before any reply, other than by a timeout, the
// log server most likely restarted since and never got the calls: the
// batch goes once more on a fresh connection. After a timeout a slow
// server may already have printed them, so they are not sent again.
func (s *Sender) send(batch []Entry) (lost int, err error) {
	s.args, s.buf = s.args[:0], s.buf[:0]
	for _, e := range batch {
		start := len(s.buf)
		s.buf, _ = AppendEntry(s.buf, e) // Log let only valid entries in
		s.args = append(s.args, s.buf[start:len(s.buf):len(s.buf)])
	}
	for attempt := 0; ; attempt++ {
		reused := s.client != nil
		if !reused {
			if s.client, err = s.dial(); err != nil {
				return len(batch), err
			}
		}
		ok, err := s.client.CallMany(time.Now().Add(s.cfg.Timeout), Program, Version, ProcLogOp, s.args)
		if err == nil {
			return 0, nil
		}
		var ae *oncrpc.AcceptError
		var re *oncrpc.RejectError
		if errors.As(err, &ae) || errors.As(err, &re) {
			// The connection is fine; the server refused some calls.
			return len(batch) - ok, fmt.Errorf("log server refused a call: %w", err)
		}
		s.client.Close()
		s.client = nil
		var ne net.Error
		if !reused || ok > 0 || attempt > 0 || errors.As(err, &ne) && ne.Timeout() {
			return len(batch) - ok, err
		}
	}
}

// dial connects to the log server, finding its port when not configured.
func (s *Sender) dial() (*oncrpc.Client, error) {
	port := s.cfg.Port
	if port == 0 {
		port = s.discover()
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(port))
	c, err := oncrpc.Dial(addr, s.cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("log server %s: %w", addr, err)
	}
	return c, nil
}

// discover asks the host's portmapper for the program's TCP port, falling
// back to DefaultPort.
func (s *Sender) discover() int {
	pm, err := oncrpc.DialPortmapper(s.cfg.Host, s.cfg.Timeout)
	if err != nil {
		return DefaultPort
	}
	defer pm.Close()
	port, err := pm.GetPort(Program, Version, oncrpc.IPProtoTCP)
	if err != nil || port == 0 {
		return DefaultPort
	}
	return port
}

// outage counts n dropped entries (why == "" for drops while already down)
// and warns once when an outage begins.
func (s *Sender) outage(why string, n int) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dropped += n
	if s.down {
		return
	}
	s.down = true
	if why == "" {
		why = "log server unreachable"
	}
	s.cfg.Log.Warn("rpc log: " + why + "; dropping log entries until it is back")
}

// refused reports, the first time, an entry that cannot be encoded.
func (s *Sender) refused(err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !s.badWarned {
		s.badWarned = true
		s.cfg.Log.Warn(fmt.Sprintf("rpc log: entry not logged (and any more like it): %v", err))
	}
}

// recovered ends an outage, saying how many entries it cost.
func (s *Sender) recovered() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !s.down {
		return
	}
	s.down = false
	s.cfg.Log.Info(fmt.Sprintf("rpc log: log server answers again; %d log entries were dropped", s.dropped))
	s.dropped = 0
}
