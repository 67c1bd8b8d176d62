// Command ws-server is the SOAP 1.1 datetime web service of PROTOCOL.md §5:
// GET /?wsdl returns its WSDL, POST / answers the datetime operation with the
// local time as dd/mm/yyyy hh:mm:ss. It listens on all interfaces and stops
// gracefully on SIGINT or SIGTERM.
//
//	ws-server [-p port] [limits]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"p2p/internal/datetime"
	"p2p/internal/logging"
	"p2p/internal/portarg"
)

const usage = "usage: ws-server [-p port] [-max-conns n] [-max-per-source n] [-first-byte-timeout d] [-max-header-bytes n] [-max-body-bytes n] [-read-header-timeout d] [-read-timeout d] [-write-timeout d] [-idle-timeout d] [-shutdown-timeout d]"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, for the tests: 0 after a graceful stop, 1
// when serving fails, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, port, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stderr, usage)
			return 0
		}
		fmt.Fprintln(stderr, "ws-server:", err)
		fmt.Fprintln(stderr, usage)
		return 2
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(stderr, "ws-server: cannot listen on port %d: %v\n", port, err)
		return 1
	}
	// The one logger of the process: net/http's complaints and the
	// listener's warnings reach stderr through it, as "ws-server: ..."
	// lines.
	cfg.Log = logging.New(stderr, "ws-server")
	fmt.Fprintf(stdout, "ws-server: listening on %s (WSDL at http://<host>:%d/?wsdl)\n",
		ln.Addr(), ln.Addr().(*net.TCPAddr).Port)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := datetime.Serve(ctx, ln, cfg); err != nil {
		fmt.Fprintln(stderr, "ws-server:", err)
		return 1
	}
	fmt.Fprintln(stdout, "ws-server: stopped")
	return 0
}

// parseFlags reads the command line; port 0 asks for any free port.
func parseFlags(args []string, stderr io.Writer) (datetime.Config, int, error) {
	cfg := datetime.DefaultConfig()
	fs := flag.NewFlagSet("ws-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints one clear error and the usage line
	portArg := fs.String("p", "8000", "TCP port, 0..65535 (0: any free port)")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "connections open at once, idle keep-alive ones included; more wait in the listen backlog")
	fs.IntVar(&cfg.MaxPerSource, "max-per-source", cfg.MaxPerSource, "connections open at once from one address; more are reset at once")
	fs.DurationVar(&cfg.FirstByteTimeout, "first-byte-timeout", cfg.FirstByteTimeout, "time a new connection has to begin its first request")
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", cfg.MaxHeaderBytes, fmt.Sprintf("largest request line plus headers, bytes (at least %d)", datetime.MinMaxHeaderBytes))
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest SOAP request body, bytes")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", cfg.ReadHeaderTimeout, "time to read a request's headers")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "time to read a whole request")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "time to write an answer")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long a graceful stop waits for calls in progress")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return cfg, 0, err // the flag's own message: "flag provided but not defined: -x"...
	}
	if fs.NArg() > 0 {
		return cfg, 0, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	port, err := portarg.Parse(*portArg, 0)
	if err != nil {
		return cfg, 0, err
	}
	if cfg.MaxHeaderBytes < datetime.MinMaxHeaderBytes {
		// net/http cannot hold a request to less.
		return cfg, 0, fmt.Errorf("-max-header-bytes %d: must be at least %d", cfg.MaxHeaderBytes, datetime.MinMaxHeaderBytes)
	}
	if cfg.MaxBodyBytes <= 0 || cfg.MaxConns <= 0 || cfg.MaxPerSource <= 0 || cfg.FirstByteTimeout <= 0 || cfg.ReadHeaderTimeout <= 0 ||
		cfg.ReadTimeout <= 0 || cfg.WriteTimeout <= 0 || cfg.IdleTimeout <= 0 || cfg.ShutdownTimeout <= 0 {
		return cfg, 0, fmt.Errorf("limits and timeouts must be positive")
	}
	return cfg, port, nil
}
