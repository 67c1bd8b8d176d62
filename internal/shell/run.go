package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/chzyer/readline"

	"p2p/internal/show"
)

// Prompt is the client's prompt (§7).
const Prompt = "c> "

// quitTimeout bounds the DISCONNECT that exit sends after a signal.
const quitTimeout = 10 * time.Second

// lineReader gives one input line at a time.
type lineReader interface {
	ReadLine() (string, error) // io.EOF at the end of input
	Close() error
}

// RunPipe runs the commands read from in, one per line, with no prompt and
// no terminal codes, until QUIT or the end of input (which acts as QUIT).
// When ctx is cancelled (a signal) it stops, disconnects as QUIT does, and
// returns ctx's error.
func (s *Shell) RunPipe(ctx context.Context, in io.Reader) error {
	return s.run(ctx, &pipeReader{r: bufio.NewReader(in)}, nil)
}

// RunTerminal is RunPipe for a person at a terminal: a line editor with the
// prompt "c> ", history (kept in Config.HistoryFile across sessions), and
// tab completion of the command words and names (complete.go). Messages
// of the GET_FILE listener are written through the editor, so they never
// garble the line being typed.
//
// Ctrl-C at the prompt drops the line being typed (the editor reads it as
// a key). While a command runs the terminal is not in the editor's raw
// mode, so Ctrl-C is a SIGINT: each one that arrives on Config.Interrupt
// cancels the command running then (a download fails, leaving no partial
// file, and prints GET_FILE FAIL) and the prompt comes back; the session
// goes on.
func (s *Shell) RunTerminal(ctx context.Context, stdin io.ReadCloser, stdout io.Writer) error {
	history := s.cfg.HistoryFile
	if history != "" {
		if err := prepareHistory(history, HistoryLimit); err != nil {
			s.out.errline(fmt.Sprintf("warning: history file %s: %v; the history of this session will not be kept", show.Quoted(history), err))
			history = ""
		}
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            Prompt,
		AutoComplete:      completer{s.names},
		HistoryFile:       history,
		HistoryLimit:      HistoryLimit,
		HistorySearchFold: true,
		InterruptPrompt:   "^C",
		// A cancelable reader, so that Close does not wait for a key
		// press while a read of the terminal is pending.
		Stdin:  readline.NewCancelableStdin(stdin),
		Stdout: stdout,
		Stderr: s.out.stderr,
	})
	if err != nil {
		return err
	}
	s.setStderr(rl.Stderr())
	return s.run(ctx, &editor{rl}, s.cfg.Interrupt)
}

// run is the loop both front ends share. The line is read in a goroutine so
// that a signal (ctx) is seen while the reader waits.
func (s *Shell) run(ctx context.Context, in lineReader, intr <-chan os.Signal) error {
	defer in.Close()
	type result struct {
		line string
		err  error
	}
	lines := make(chan result)
	next := make(chan struct{})
	go func() {
		for {
			l, err := in.ReadLine()
			select {
			case lines <- result{l, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			select {
			case <-next:
			case <-ctx.Done():
				return
			}
		}
	}()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case r := <-lines:
			if r.err != nil {
				// End of input: QUIT. A failed read acts the same.
				s.Quit(context.WithoutCancel(ctx))
				if errors.Is(r.err, io.EOF) {
					return nil
				}
				return r.err
			}
			if s.execInterruptible(ctx, r.line, intr) {
				return nil
			}
			if ctx.Err() == nil {
				select {
				case next <- struct{}{}:
				case <-ctx.Done():
				}
			}
		}
	}
	// A signal: QUIT.
	s.quitAfterSignal()
	return ctx.Err()
}

// execInterruptible runs one line with a context that a value on intr
// cancels. Interrupts that came while no command ran (between two
// commands) are dropped first: they were meant for no command.
func (s *Shell) execInterruptible(ctx context.Context, line string, intr <-chan os.Signal) bool {
	if intr == nil {
		return s.Exec(ctx, line)
	}
	for drained := false; !drained; {
		select {
		case <-intr:
		default:
			drained = true
		}
	}
	cmdCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-intr:
			cancel(ErrInterrupted)
		case <-done:
		}
	}()
	return s.Exec(cmdCtx, line)
}

// ErrInterrupted is the cause of a command's context cancelled by Ctrl-C.
var ErrInterrupted = errors.New("interrupted (Ctrl-C)")

func (s *Shell) quitAfterSignal() {
	ctx, cancel := context.WithTimeout(context.Background(), quitTimeout)
	defer cancel()
	s.Quit(ctx)
}

// pipeReader reads lines from a pipe or file; a CR before the LF goes.
type pipeReader struct{ r *bufio.Reader }

func (p *pipeReader) ReadLine() (string, error) {
	l, err := p.r.ReadString('\n')
	if err != nil && (l == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	return strings.TrimRight(l, "\r\n"), nil
}

func (p *pipeReader) Close() error { return nil }

// editor is the terminal's line reader.
type editor struct{ rl *readline.Instance }

func (e *editor) ReadLine() (string, error) {
	for {
		l, err := e.rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			// ^C drops the line being typed, as in a shell.
			continue
		}
		return l, err
	}
}

func (e *editor) Close() error { return e.rl.Close() }
