// Command rpc_server is the p2p system's log server (PROTOCOL.md §6): an
// ONC RPC program, P2P_LOG_PROG (0x20240512) version 1 over TCP, that
// prints one line per LOG_OPERATION call on stdout, one write per line:
//
//	<username> <OPERATION> <datetime>
//	<username> <OPERATION> <filename> <datetime>   (PUBLISH and DELETE)
//
// Usage:
//
//	rpc_server [-p <port>] [-max-record <bytes>] [-max-conns <n>] [-max-per-source <n>]
//	           [-first-byte-timeout <duration>] [-idle-timeout <duration>] [-portmap=false]
//
//	-p                   TCP port, all interfaces (default 8001; 0: any free port)
//	-max-record          largest call record accepted (default 65536 bytes)
//	-max-conns           connections open at once; more wait in the listen backlog (default 4096)
//	-max-per-source      connections open at once from one address; more are reset at once (default 64)
//	-first-byte-timeout  a new connection that has not begun a call within this is closed (default 2s)
//	-idle-timeout        a connection with no call for this long is closed (default 5m)
//	-portmap             register with the portmapper on 127.0.0.1:111 (default true)
//
// A mistake on the command line prints the usage line and exits with
// status 2; -h prints it and exits 0. Diagnostics, including the port it
// serves on, go to stderr.
// When rpcbind answers on 127.0.0.1:111 the program is registered there at
// start and removed on SIGINT or SIGTERM. rpcbind refuses a SET for a
// program it already holds: a mapping left by a crashed server (nothing
// answers on its port) is removed first, while one held by a live server
// is left to it and this one serves unregistered; at exit the mapping is
// removed only if it still names this server's port.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"p2p/internal/logging"
	"p2p/internal/oncrpc"
	"p2p/internal/portarg"
	"p2p/internal/rpclog"
)

const usage = "usage: rpc_server [-p <port>] [-max-record <bytes>] [-max-conns <n>] [-max-per-source <n>] [-first-byte-timeout <duration>] [-idle-timeout <duration>] [-portmap=false]"

// options are the command line's settings.
type options struct {
	port         int
	maxRecord    int
	maxConns     int
	maxPerSource int
	firstByte    time.Duration
	idleTimeout  time.Duration
	portmap      bool
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rpc_server:", err)
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rpc_server:", err)
		os.Exit(1)
	}
}

// parseArgs reads the flags; any mistake is an error (exit status 2).
func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("rpc_server", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // main prints the error and the usage line
	fs.Usage = func() {}
	port := fs.String("p", "8001", "TCP port to listen on, 0..65535 (0: any free port)")
	fs.IntVar(&o.maxRecord, "max-record", oncrpc.DefaultMaxRecordSize, "largest call record accepted, in bytes")
	fs.IntVar(&o.maxConns, "max-conns", oncrpc.DefaultMaxConns, "most connections open at once; more wait in the listen backlog")
	fs.IntVar(&o.maxPerSource, "max-per-source", oncrpc.DefaultMaxPerSource, "most connections open at once from one address; more are reset at once")
	fs.DurationVar(&o.firstByte, "first-byte-timeout", oncrpc.DefaultFirstByteTimeout, "close a new connection that has not begun a call within this")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", oncrpc.DefaultIdleTimeout, "close a connection idle for this long")
	fs.BoolVar(&o.portmap, "portmap", true, "register with the portmapper on 127.0.0.1:111 when one runs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	o.port, err = portarg.Parse(*port, 0)
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case err != nil:
		return o, err
	case o.maxRecord < 512 || o.maxRecord > 1<<30:
		// 512: a call with two full 400-byte auth bodies and an entry
		// does not fit in less.
		return o, fmt.Errorf("-max-record %d out of range 512..%d", o.maxRecord, 1<<30)
	case o.maxConns < 1:
		return o, fmt.Errorf("-max-conns %d: must be at least 1", o.maxConns)
	case o.maxPerSource < 1:
		return o, fmt.Errorf("-max-per-source %d: must be at least 1", o.maxPerSource)
	case o.firstByte <= 0:
		return o, fmt.Errorf("-first-byte-timeout %v: must be positive", o.firstByte)
	case o.idleTimeout <= 0:
		return o, fmt.Errorf("-idle-timeout %v: must be positive", o.idleTimeout)
	}
	return o, nil
}

// run serves until SIGINT or SIGTERM.
func run(o options, stdout, stderr io.Writer) error {
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", o.port))
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	// The one logger of the process: the server's warnings and the
	// portmapper's news reach stderr through it, as "rpc_server: ..."
	// lines. The entries themselves go to stdout (§6): they are no log.
	logger := logging.New(stderr, "rpc_server")
	srv := &oncrpc.Server{
		MaxRecordSize:    o.maxRecord,
		MaxConns:         o.maxConns,
		MaxPerSource:     o.maxPerSource,
		FirstByteTimeout: o.firstByte,
		IdleTimeout:      o.idleTimeout,
		Log:              logger,
	}
	rpclog.Register(srv, rpclog.NewPrinter(stdout))

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	registered := o.portmap && register(port, logger)
	logger.Info(fmt.Sprintf("serving program %#x version %d on TCP port %d (%v)",
		rpclog.Program, rpclog.Version, port, srv))

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case sig := <-sigs:
		logger.Info(fmt.Sprintf("%v: stopping", sig))
	case err = <-served:
	}
	if registered {
		unregister(port, logger)
	}
	closeErr := srv.Close()
	if errors.Is(err, oncrpc.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, closeErr)
}

// pmapTimeout bounds each exchange with the local portmapper.
const pmapTimeout = 2 * time.Second

// register maps the program to port in the local portmapper, when one runs.
// A mapping left by a server that crashed is replaced; one held by a live
// server (another rpc_server on another port) is left to it.
func register(port int, logger *slog.Logger) bool {
	pm, err := oncrpc.DialLocalPortmapper(pmapTimeout)
	if err != nil {
		logger.Warn(fmt.Sprintf("no portmapper on 127.0.0.1:111 (%v); not registered, clients must be given port %d", err, port))
		return false
	}
	defer pm.Close()
	m := oncrpc.Mapping{Prog: rpclog.Program, Vers: rpclog.Version, Prot: oncrpc.IPProtoTCP, Port: uint32(port)}
	if err := oncrpc.Claim(pm, m, "127.0.0.1", pmapTimeout); err != nil {
		logger.Warn(fmt.Sprintf("%v; not registered, clients must be given port %d", err, port))
		return false
	}
	logger.Info("registered with the portmapper on 127.0.0.1:111")
	return true
}

// unregister removes the program's mapping from the local portmapper,
// unless another server has claimed it since.
func unregister(port int, logger *slog.Logger) {
	pm, err := oncrpc.DialLocalPortmapper(pmapTimeout)
	if err != nil {
		logger.Warn(fmt.Sprintf("portmapper UNSET: %v", err))
		return
	}
	defer pm.Close()
	m := oncrpc.Mapping{Prog: rpclog.Program, Vers: rpclog.Version, Prot: oncrpc.IPProtoTCP, Port: uint32(port)}
	switch ok, err := oncrpc.Release(pm, m); {
	case err != nil:
		logger.Warn(fmt.Sprintf("portmapper UNSET: %v", err))
	case !ok:
		logger.Warn(fmt.Sprintf("the portmapper no longer maps the program to port %d; left as it is", port))
	default:
		logger.Info("removed from the portmapper")
	}
}
