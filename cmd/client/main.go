// Command client is the interactive peer of the p2p system (PROTOCOL.md
// §7): it talks to the central server, serves its published files to other
// peers while connected, and downloads theirs.
//
//	client -s <host> -p <port> [-w <web service url>] [-l <listen address>] [-history <file>]
//
// From a terminal it offers a line editor (prompt "c> ", history kept
// across sessions, tab completion of commands and names); from a pipe it
// reads one command per line and prints only the result lines, and never
// touches the history file.
//
// The history file is -history's, else $P2P_HISTORY's, else
// $XDG_STATE_HOME/p2p_history when XDG_STATE_HOME is set (an absolute
// path), else ~/.p2p_history. An empty -history or P2P_HISTORY keeps no
// file.
//
// The end of input and SIGTERM act like QUIT, and so does SIGINT from a
// pipe; in a terminal, Ctrl-C cancels the command running (a download)
// and gives the prompt back.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/chzyer/readline"

	"p2p/internal/datetime"
	"p2p/internal/portarg"
	"p2p/internal/shell"
)

const usage = "usage: client -s <host> -p <port> [-w <web service url>] [-l <listen address>] [-history <file>]"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin *os.File, stdout, stderr *os.File) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	host := fs.String("s", "", "central server host (IPv4 address or name)")
	port := fs.String("p", "", "central server port, 1024..65535")
	ws := fs.String("w", "http://localhost:8000/", "web service URL (datetime)")
	listen := fs.String("l", ":0", "address of the GET_FILE listener opened on CONNECT (ip:port; port 0 = ephemeral)")
	var history optString
	fs.Var(&history, "history", "`file` keeping the lines typed at a terminal across sessions; '' for none (default $P2P_HISTORY, else $XDG_STATE_HOME/p2p_history, else ~/.p2p_history)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stderr, usage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "client: %v\n%s\n", err, usage)
		return 2
	}
	_, err := portarg.Parse(*port, 1024)
	switch {
	case *host == "" || *port == "":
		fmt.Fprintf(stderr, "client: -s and -p are required\n%s\n", usage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "client: %v\n%s\n", err, usage)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "client: unexpected argument %q\n%s\n", fs.Arg(0), usage)
		return 2
	}

	interactive := readline.IsTerminal(int(stdin.Fd()))
	cfg := shell.Config{
		Server:     net.JoinHostPort(*host, *port),
		Clock:      datetime.NewClient(*ws),
		ListenAddr: *listen,
		Stdout:     stdout,
		Stderr:     stderr,
		Progress:   readline.IsTerminal(int(stderr.Fd())),
	}
	if interactive {
		cfg.HistoryFile = historyPath(history, os.LookupEnv)
		// In a terminal, Ctrl-C (SIGINT) cancels the command running, not
		// the session; SIGTERM still acts like QUIT.
		intr := make(chan os.Signal, 1)
		signal.Notify(intr, syscall.SIGINT)
		defer signal.Stop(intr)
		cfg.Interrupt = intr
	}
	sh := shell.New(cfg)
	sh.RemoveStaleTemp()
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if interactive {
		sigs = sigs[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	if interactive {
		// The editor draws on the terminal: stdout when it is one, else
		// stderr, so a redirected stdout still gets only result lines.
		draw := stdout
		if !readline.IsTerminal(int(stdout.Fd())) {
			draw = stderr
		}
		err = sh.RunTerminal(ctx, stdin, draw)
	} else {
		err = sh.RunPipe(ctx, stdin)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "client: %v\n", err)
		return 1
	}
	return 0
}

// optString is a string flag that knows whether it was given, so that
// -history ” (no file) differs from no -history (the default file).
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string     { return o.v }
func (o *optString) Set(v string) error { o.v, o.set = v, true; return nil }

// historyPath is the history file of a terminal session: -history, else
// $P2P_HISTORY (either empty: none), else $XDG_STATE_HOME/p2p_history
// (the folder made, for its owner only, if missing), else ~/.p2p_history;
// "" when there is none.
func historyPath(flagValue optString, lookup func(string) (string, bool)) string {
	if flagValue.set {
		return flagValue.v
	}
	if v, ok := lookup("P2P_HISTORY"); ok {
		return v
	}
	if x, _ := lookup("XDG_STATE_HOME"); filepath.IsAbs(x) {
		// The XDG rule: a relative XDG_STATE_HOME is ignored.
		if err := os.MkdirAll(x, 0o700); err == nil {
			return filepath.Join(x, "p2p_history")
		}
	}
	if home, _ := lookup("HOME"); filepath.IsAbs(home) {
		return filepath.Join(home, ".p2p_history")
	}
	return ""
}
