// Command server is the central directory server of PROTOCOL.md §2 and §4:
//
//	server -p <port> [-d <dir>] [-sync=false] [-max-conns n] [-max-per-source n] [-first-byte-timeout d]
//	       [-read-timeout d] [-write-timeout d] [-store-timeout d] [-proxy <sources>] [-max-files n] [-reply-budget MiB]
//	server -p <port> -db <dsn> [-max-conns n] [-max-per-source n] [-first-byte-timeout d]
//	       [-read-timeout d] [-write-timeout d] [-store-timeout d] [-proxy <sources>] [-max-files n] [-reply-budget MiB]
//
// It keeps users.csv, connected.csv and files/<user>.csv in the data folder
// (-d, default the working directory), or, with -db, the directory in the
// PostgreSQL database the connection string names, shared with every other
// server started on it (-d and -sync are for the CSV files, and refused
// with -db). A database that does not answer at start does not stop the
// server: it warns, answers every request its last code, and makes or
// upgrades the schema once the database answers. It prints the console
// lines of §4 on stdout, hands every parsed request to the log server of §6 (found through
// LOG_RPC_IP and LOG_RPC_PORT, or the portmapper), and on SIGINT or SIGTERM
// stops accepting, answers the requests in flight and exits 0. Bad flags print one usage line and exit 2;
// -h prints it and exits 0.
//
// Behind TCP load balancers, -proxy names them (comma-separated IPv4
// addresses or CIDR ranges): their connections must begin with a PROXY
// protocol header (v1 or v2), whose client address is the one the server
// uses; a PROXY header from any other source is refused (PROTOCOL.md §4).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"p2p/internal/central"
	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/directory/pgstore"
	"p2p/internal/listen"
	"p2p/internal/logging"
	"p2p/internal/portarg"
	"p2p/internal/rpclog"
)

const usage = "usage: server -p <port 1024..65535> [-d <data dir> [-sync=true|false] | -db <postgres dsn>] [-max-conns <n>] [-max-per-source <n>] [-first-byte-timeout <duration>] [-read-timeout <duration>] [-write-timeout <duration>] [-store-timeout <duration>] [-proxy <IPv4 address or CIDR>[,...]] [-max-files <n, 0: no cap>] [-reply-budget <MiB>]"

// openTimeout bounds the first attempt to reach the database at start.
const openTimeout = 10 * time.Second

// Defaults of the flags that are not central's.
const (
	// defaultMaxFiles caps one user's published list: 10,000 files of the
	// longest names are a LIST_CONTENT reply of 5 MB.
	defaultMaxFiles = 10000
)

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
	storeTimeout := fs.Duration("store-timeout", central.DefaultStoreTimeout, "time the directory may take to answer a request")
	db := fs.String("db", "", "PostgreSQL connection string (URL or key=value) of a directory shared by several servers")
	var trusted []netip.Prefix
	fs.Func("proxy", "load balancers whose connections begin with a PROXY header: comma-separated IPv4 addresses or CIDR ranges", func(v string) (err error) {
		trusted, err = listen.ParseSources(v)
		return err
	})
	maxFiles := fs.Int("max-files", defaultMaxFiles, "files one user may publish (0: no cap)")
	replyBudget := fs.Int64("reply-budget", central.DefaultReplyBudget>>20, "MiB of list records held for replies in flight, server-wide")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, usage)
		return 0
	}
	csvFlags := false
	fs.Visit(func(f *flag.Flag) { csvFlags = csvFlags || f.Name == "d" || f.Name == "sync" })
	if err != nil || fs.NArg() > 0 || !portOK(*port) ||
		*maxConns < 1 || *maxPerSource < 1 || *firstByte <= 0 || *readTimeout <= 0 || *writeTimeout <= 0 || *storeTimeout <= 0 || *db != "" && csvFlags ||
		*maxFiles < 0 || *replyBudget < 1 || *replyBudget > 1<<40 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	// The one logger of the process: its own errors and every package's
	// warnings reach stderr through it, as "server: ..." lines. (The
	// usage line is no log line: it is written as it is.)
	log := logging.New(stderr, "server")
	logCfg, err := logConfig(os.LookupEnv)
	if err != nil {
		log.Error(err.Error())
		return 2
	}

	ln, err := central.Listen(":" + *port)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	var store directory.Store
	if *db != "" {
		store, err = openDB(*db, log)
	} else {
		store, err = csvstore.Open(csvstore.Options{Dir: *dir, Sync: *sync, Log: log})
	}
	if err != nil {
		ln.Close()
		log.Error(err.Error())
		if errors.Is(err, pgstore.ErrDSN) {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		return 1
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error(fmt.Sprintf("closing the directory: %v", err))
		}
	}()
	logCfg.Log = log
	opLog := rpclog.NewSender(logCfg)
	defer func() { // after srv.Close, so the last entries are flushed
		if err := opLog.Close(); err != nil {
			log.Error(err.Error())
		}
	}()
	srv, err := central.Start(central.Config{
		Listener:         ln,
		Directory:        directory.New(store, directory.Options{MaxFiles: *maxFiles, Log: log}),
		Console:          stdout,
		Log:              log,
		OpLog:            opLog,
		MaxConns:         *maxConns,
		MaxPerSource:     *maxPerSource,
		FirstByteTimeout: *firstByte,
		TrustedProxies:   trusted,
		ReadTimeout:      *readTimeout,
		WriteTimeout:     *writeTimeout,
		StoreTimeout:     *storeTimeout,
		ReplyBudget:      *replyBudget << 20,
	})
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	if err := srv.Close(); err != nil {
		log.Error(fmt.Sprintf("closing the listener: %v", err))
	}
	return 0
}

// openDB opens the PostgreSQL store. A database that cannot be reached
// yet is no error (the server answers last codes until it can); a
// connection string that does not parse, or a refusal by the database
// (authentication, no such database, a newer schema), is.
func openDB(dsn string, log *slog.Logger) (directory.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{Lazy: true})
	if err != nil {
		return nil, err
	}
	if err := st.SchemaErr(); err != nil {
		log.Warn(fmt.Sprintf("%v (requests get their last code until the database answers)", err))
	}
	return st, nil
}

// portOK accepts the -p rule: 1024..65535.
func portOK(s string) bool {
	_, err := portarg.Parse(s, 1024)
	return err == nil
}

// logConfig is where the log server is (PROTOCOL.md §6): host LOG_RPC_IP
// (unset or empty: 127.0.0.1), port LOG_RPC_PORT (unset or empty: found
// through that host's portmapper, else 8001). A LOG_RPC_PORT that is not a
// port in 1..65535 is an error (the server exits 2).
func logConfig(lookup func(string) (string, bool)) (rpclog.SenderConfig, error) {
	cfg := rpclog.SenderConfig{Host: rpclog.DefaultHost}
	if v, _ := lookup("LOG_RPC_IP"); v != "" {
		cfg.Host = v
	}
	if v, _ := lookup("LOG_RPC_PORT"); v != "" {
		p, err := portarg.Parse(v, 1)
		if err != nil {
			return cfg, fmt.Errorf("LOG_RPC_PORT: %v", err)
		}
		cfg.Port = p
	}
	return cfg, nil
}
