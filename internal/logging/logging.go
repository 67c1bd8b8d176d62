// Package logging owns the one slog.Handler of the project: every warning
// and error a program reports on stderr goes through it, so that every
// line has the same form, whichever package wrote it:
//
//	server: directory: the store works again
//	rpc_server: oncrpc: 10.0.0.7:51234: closing connection: oncrpc: message is not a call (msg_type 1)
//
// The program's name, then the message, then " key=value" for each
// attribute. There is no time (a supervisor or journald adds it) and no
// level word (the messages say what they are); records below Info are
// dropped. Message, keys and values are shown as package show shows a
// value, so that bytes from the network cannot drive a terminal or split
// a line; a value holding a space, a quote, an equals sign or such bytes,
// or no byte at all, is quoted.
//
// Each line is one Write call, under a mutex shared by every logger made
// from the same New, so that lines from concurrent goroutines never
// interleave.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"p2p/internal/show"
)

// New returns a logger writing one line per record to w, each begun with
// "prog: " (nothing when prog is empty).
func New(w io.Writer, prog string) *slog.Logger {
	return slog.New(NewHandler(w, prog))
}

// NewHandler is the handler of New, for what wants a slog.Handler (such
// as slog.NewLogLogger, for net/http's ErrorLog).
func NewHandler(w io.Writer, prog string) slog.Handler {
	h := &handler{out: &output{w: w}}
	if prog != "" {
		h.out.prefix = show.Value(prog) + ": "
	}
	return h
}

// Discard is the logger of a library given none: it prints nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// output is what the loggers derived from one New share: the writer and
// the lock that keeps their lines whole.
type output struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string // "prog: "
}

// handler is one logger's view of an output: the attributes of its With
// calls, already formatted, and the group its own attributes go in.
type handler struct {
	out   *output
	attrs string // " k=v" of WithAttrs, keys already qualified
	group string // "g1.g2." of WithGroup
}

// Enabled drops Debug: what operators see is Info and above.
func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// Handle writes the record's line in one Write call.
func (h *handler) Handle(_ context.Context, r slog.Record) error {
	b := make([]byte, 0, 128)
	b = append(b, h.out.prefix...)
	b = show.Append(b, r.Message)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.group, a)
		return true
	})
	b = append(b, '\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(b)
	return err
}

// WithAttrs formats the attributes once, in the group of the moment.
func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	b := []byte(h.attrs)
	for _, a := range as {
		b = appendAttr(b, h.group, a)
	}
	h2 := *h
	h2.attrs = string(b)
	return &h2
}

// WithGroup qualifies the keys of the attributes that follow with name.
// A group without attributes prints nothing, as slog asks.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendAttr appends " key=value", the key qualified by its groups; a
// group's attributes are flattened into "group.key" (an empty group key
// inlines them), and an empty attribute or group prints nothing.
func appendAttr(b []byte, group string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			group += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			b = appendAttr(b, group, g)
		}
		return b
	}
	b = append(b, ' ')
	b = show.Append(b, group+a.Key)
	b = append(b, '=')
	return appendValue(b, valueString(a.Value))
}

// valueString is the text of a value: a time in RFC 3339, an error its
// message, anything else as slog prints it. A String or Error method that
// panics (a nil pointer in an interface) gives "!PANIC: ..." instead, as
// in slog's own handlers: a warning must not bring the program down.
func valueString(v slog.Value) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("!PANIC: %v", r)
		}
	}()
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
	}
	return v.String()
}

// appendValue appends s, between double quotes when it holds a space, a
// quote, an equals sign or a byte show escapes, or is empty: a value is
// then one token of the line, and where it ends is plain. A quote inside
// a quoted value is shown as \x22, as show shows the bytes it escapes.
func appendValue(b []byte, s string) []byte {
	if s != "" && show.Safe(s) && !strings.ContainsAny(s, " \"=") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = show.Append(b, strings.ReplaceAll(s, `"`, `\x22`))
	return append(b, '"')
}
