// Command server is the central directory server of PROTOCOL.md §2 and §4:
//
//	server -p <port> [-d <dir>] [-sync=false] [-max-conns n] [-read-timeout d] [-write-timeout d] [-max-files n] [-reply-budget MiB]
//
// It keeps users.csv, connected.csv and files/<user>.csv in the data folder
// (-d, default the working directory), prints the console lines of §4 on
// stdout, hands every parsed request to the log server of §6 (found through
// LOG_RPC_IP and LOG_RPC_PORT, or the portmapper), and on SIGINT or SIGTERM
// stops accepting, answers the requests in flight and exits 0. Bad flags print one usage line and exit 2.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"p2p/internal/central"
	"p2p/internal/directory"
	"p2p/internal/directory/csvstore"
	"p2p/internal/rpclog"
)

const usage = "usage: server -p <port 1024..65535> [-d <data dir>] [-sync=true|false] [-max-conns <n>] [-read-timeout <duration>] [-write-timeout <duration>] [-max-files <n, 0: no cap>] [-reply-budget <MiB>]"

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
	maxConns := fs.Int("max-conns", central.DefaultMaxConns, "connections served at once")
	readTimeout := fs.Duration("read-timeout", central.DefaultReadTimeout, "time allowed to receive a request")
	writeTimeout := fs.Duration("write-timeout", central.DefaultWriteTimeout, "time allowed to send a reply")
	maxFiles := fs.Int("max-files", defaultMaxFiles, "files one user may publish (0: no cap)")
	replyBudget := fs.Int64("reply-budget", central.DefaultReplyBudget>>20, "MiB of list records held for replies in flight, server-wide")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !validPort(*port) ||
		*maxConns < 1 || *readTimeout <= 0 || *writeTimeout <= 0 || *maxFiles < 0 ||
		*replyBudget < 1 || *replyBudget > 1<<40 {
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
		Listener:     ln,
		Directory:    directory.New(store, directory.Options{MaxFiles: *maxFiles, Warn: stderr}),
		Console:      stdout,
		Errors:       stderr,
		Logger:       logger,
		MaxConns:     *maxConns,
		ReadTimeout:  *readTimeout,
		WriteTimeout: *writeTimeout,
		ReplyBudget:  *replyBudget << 20,
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
