package shell

import (
	"context"
	"fmt"
	"strings"

	"p2p/internal/show"
	"p2p/internal/wire"
)

// command is one command of §7: its keyword, its arguments and what runs it.
type command struct {
	name wire.Op
	args []string // names of the arguments, for the usage line
	// rest: the last argument is the rest of the line (PUBLISH's
	// description, SEARCH's words), so the line needs at least len(args)
	// words.
	rest bool
	run  func(s *Shell, ctx context.Context, args []string)
}

// quitCmd is the command that ends the client; it is never sent.
const quitCmd wire.Op = "QUIT"

// commands, in the order HELP lists them.
var commands = []command{
	{wire.Register, []string{"username"}, false, (*Shell).register},
	{wire.Unregister, []string{"username"}, false, (*Shell).unregister},
	{wire.Connect, []string{"username"}, false, (*Shell).connect},
	{wire.Disconnect, []string{"username"}, false, (*Shell).disconnect},
	{wire.Publish, []string{"filename", "description"}, true, (*Shell).publish},
	{wire.Delete, []string{"filename"}, false, (*Shell).delete},
	{wire.ListUsers, nil, false, (*Shell).listUsers},
	{wire.ListContent, []string{"username"}, false, (*Shell).listContent},
	{wire.GetFile, []string{"username", "remote_filename", "local_filename"}, false, (*Shell).getFile},
	{wire.Search, []string{"words"}, true, (*Shell).search},
	{quitCmd, nil, false, nil},
}

// keywords are the command keywords, for completion.
func keywords() []string {
	w := make([]string, 0, len(commands)+1)
	for _, c := range commands {
		w = append(w, string(c.name))
	}
	return append(w, "HELP")
}

func (c command) usage() string {
	u := string(c.name)
	for i, a := range c.args {
		if c.rest && i == len(c.args)-1 {
			u += " <" + a + ", the rest of the line>"
		} else {
			u += " <" + a + ">"
		}
	}
	return u
}

func lookup(word string) (command, bool) {
	for _, c := range commands {
		if strings.EqualFold(word, string(c.name)) {
			return c, true
		}
	}
	return command{}, false
}

// split parses a line into its command and arguments, or says what is
// wrong in words for a person.
func split(line string) (command, []string, error) {
	line = strings.TrimSpace(line)
	word, tail := cut(line)
	c, ok := lookup(word)
	if !ok {
		return c, nil, fmt.Errorf("unknown command %s; type HELP for the list", show.Quoted(word))
	}
	var args []string
	for range c.args {
		var a string
		if c.rest && len(args) == len(c.args)-1 {
			a, tail = strings.TrimSpace(tail), ""
		} else {
			a, tail = cut(tail)
		}
		if a == "" {
			break
		}
		args = append(args, a)
	}
	if len(args) != len(c.args) || tail != "" {
		n := len(args)
		if tail != "" {
			n += len(strings.Fields(tail))
		}
		return c, nil, fmt.Errorf("%s: wrong number of arguments (%s, got %d); usage: %s", c.name, countArgs(c), n, c.usage())
	}
	return c, args, nil
}

func countArgs(c command) string {
	switch {
	case len(c.args) == 0:
		return "wants none"
	case c.rest:
		return fmt.Sprintf("wants %d or more words", len(c.args))
	case len(c.args) == 1:
		return "wants 1"
	}
	return fmt.Sprintf("wants %d", len(c.args))
}

// cut splits off the first space- or tab-separated word.
func cut(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// Exec runs one line. It reports true when the client should exit (QUIT,
// after disconnecting the connected users).
func (s *Shell) Exec(ctx context.Context, line string) (quit bool) {
	if strings.TrimSpace(line) == "" {
		return false
	}
	if w, _ := cut(line); strings.EqualFold(w, "HELP") {
		s.help()
		return false
	}
	c, args, err := split(line)
	if err != nil {
		s.out.errline(err.Error())
		return false
	}
	if c.name == quitCmd {
		s.Quit(ctx)
		return true
	}
	// §7: a value too long for its field is refused by the client.
	for i, a := range args {
		if len(a) > wire.MaxValueLen || strings.IndexByte(a, 0) >= 0 {
			is := "is"
			if c.args[i] == "words" {
				is = "are"
			}
			s.out.errline(fmt.Sprintf("%s: the %s %s %d bytes, the limit is %d (nothing sent)", c.name, c.args[i], is, len(a), wire.MaxValueLen))
			s.out.line(wire.FailLine(c.name))
			return false
		}
	}
	c.run(s, ctx, args)
	s.syncNames()
	return false
}

// Quit disconnects every user this client is connected as, in the order
// they connected (each with its datetime and DISCONNECT lines), and closes
// their listeners: what QUIT and the end of input do.
func (s *Shell) Quit(ctx context.Context) {
	for _, u := range s.ConnectedUsers() {
		s.disconnect(ctx, []string{u})
	}
	s.closeListeners()
}

func (s *Shell) help() {
	var b strings.Builder
	b.WriteString("Commands (keyword in any case):\n")
	for _, c := range commands {
		b.WriteString("  " + c.usage() + "\n")
	}
	b.WriteString("  HELP\n")
	b.WriteString("Each command prints the web service's datetime, then its result.\n")
	b.WriteString("At a terminal, Tab completes commands, usernames and file names (from the\n")
	b.WriteString("lists already shown, and the working folder); Up and Down walk the history\n")
	b.WriteString("of this and earlier sessions, Ctrl-R searches it.")
	s.out.errline(b.String())
}
