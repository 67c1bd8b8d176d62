// Command server is the central directory server of PROTOCOL.md §2 and §4:
//
//	server -p <port> [-d <dir>] [-sync=false] [-max-conns n] [-max-per-source n]
//	       [-first-byte-timeout d] [-read-timeout d] [-write-timeout d] [-proxy <sources>]
//
// It keeps users.csv, connected.csv and files/<user>.csv in the data folder
// (-d, default the working directory), prints the console lines of §4 on
// stdout, hands every parsed request to the log server of §6 (found through
// LOG_RPC_IP and LOG_RPC_PORT, or the portmapper), and on SIGINT or SIGTERM
// stops accepting, answers the requests in flight and exits 0. Bad flags print one usage line and exit 2.
//
// Behind TCP load balancers, -proxy names them (comma-separated IPv4
// addresses or CIDR ranges): their connections must begin with a PROXY
// protocol header (v1 or v2), whose client address is the one the server
// uses; a PROXY header from any other source is refused (PROTOCOL.md §4).
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"p2p/internal/central"
	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/listen"
	"p2p/internal/rpclog"
)

const usage = "usage: server -p <port 1024..65535> [-d <data dir>] [-sync=true|false] [-max-conns <n>] [-max-per-source <n>] [-first-byte-timeout <duration>] [-read-timeout <duration>] [-write-timeout <duration>] [-proxy <IPv4 address or CIDR>[,...]]"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	port := fs.String("p", "", "TCP port, 1024..65535")
	dir := fs.String("d", ".", "data folder for users.csv, connected.csv and files/")
	sync := fs.Bool("sync", true, "fsync every change before replying")
	maxConns := fs.Int("max-conns", central.DefaultMaxConns, "connections open at once; more wait in the listen backlog")
	maxPerSource := fs.Int("max-per-source", central.DefaultMaxPerSource, "connections open at once from one client address; more are reset at once")
	firstByte := fs.Duration("first-byte-timeout", central.DefaultFirstByteTimeout, "time a new connection has to send its first bytes (or PROXY header)")
	readTimeout := fs.Duration("read-timeout", central.DefaultReadTimeout, "time allowed to receive a request")
	writeTimeout := fs.Duration("write-timeout", central.DefaultWriteTimeout, "time allowed to send a reply")
	var trusted []netip.Prefix
	fs.Func("proxy", "load balancers whose connections begin with a PROXY header: comma-separated IPv4 addresses or CIDR ranges", func(v string) (err error) {
		trusted, err = listen.ParseSources(v)
		return err
	})
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !validPort(*port) ||
		*maxConns < 1 || *maxPerSource < 1 || *firstByte <= 0 || *readTimeout <= 0 || *writeTimeout <= 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}

	ln, err := central.Listen(":" + *port)
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 1
	}
	store, err := csvstore.Open(csvstore.Options{Dir: *dir, Sync: *sync, Warn: stderr})
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 1
	}
	defer func() {
		if err := store.Close(); err != nil {
			fmt.Fprintf(stderr, "server: closing the directory: %v\n", err)
		}
	}()
	logger := rpclog.NewSender(rpclog.SenderConfigFromEnv(), stderr)
	defer logger.Close() // after srv.Close, so the last entries are flushed
	srv, err := central.Start(central.Config{
		Listener:         ln,
		Directory:        directory.New(store, directory.Options{Warn: stderr}),
		Console:          stdout,
		Errors:           stderr,
		Logger:           logger,
		MaxConns:         *maxConns,
		MaxPerSource:     *maxPerSource,
		FirstByteTimeout: *firstByte,
		TrustedProxies:   trusted,
		ReadTimeout:      *readTimeout,
		WriteTimeout:     *writeTimeout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Close()
	return 0
}

// validPort accepts a decimal port in 1024..65535.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1024 && n <= 65535 && s == strconv.Itoa(n)
}
