package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
)

// TestLine pins the exact form of a line: what operators read.
func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"message", func(l *slog.Logger) { l.Warn("directory: the store works again") },
			"server: directory: the store works again\n"},
		{"attrs", func(l *slog.Logger) { l.Info("sent", "bytes", 42, "name", "a b", "empty", "", "err", errors.New("no")) },
			`server: sent bytes=42 name="a b" empty="" err=no` + "\n"},
		{"unsafe bytes", func(l *slog.Logger) { l.Error("bad \x1b[2J\nline", "user", "\x1b]0;x\a", "q", `say "hi"`, "eq", "a=b") },
			`server: bad \x1b[2J\x0aline user="\x1b]0;x\x07" q="say \x22hi\x22" eq="a=b"` + "\n"},
		{"groups", func(l *slog.Logger) {
			l.With("a", 1).WithGroup("g").With("b", 2).Info("m", slog.Group("h", "c", 3), slog.Group("", "d", 4), slog.Group("e"))
		}, "server: m a=1 g.b=2 g.h.c=3 g.d=4\n"},
		{"debug dropped", func(l *slog.Logger) { l.Debug("noise") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(New(&buf, "server"))
			if got := buf.String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	var buf bytes.Buffer
	New(&buf, "").Warn("central: accept: too many open files")
	if got := buf.String(); got != "central: accept: too many open files\n" {
		t.Errorf("no program: %q", got)
	}
}

// writes records each Write call.
type writes struct {
	mu sync.Mutex
	w  []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = append(w.w, string(p))
	return len(p), nil
}

// TestOneWritePerLine: loggers derived from one New, used at once, write
// whole lines, one Write call each.
func TestOneWritePerLine(t *testing.T) {
	var w writes
	l := New(&w, "p")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := l.With("g", i)
			for range 100 {
				l.Info("a line", "k", "v")
			}
		})
	}
	wg.Wait()
	if len(w.w) != 800 {
		t.Fatalf("%d writes, want 800", len(w.w))
	}
	for _, s := range w.w {
		if !strings.HasPrefix(s, "p: a line g=") || !strings.HasSuffix(s, " k=v\n") || strings.Count(s, "\n") != 1 {
			t.Fatalf("torn or joined line %q", s)
		}
	}
}

// TestSlogtest runs slog's own handler checks on the lines, parsed back.
func TestSlogtest(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf.Reset()
		return NewHandler(&buf, "prog")
	}, func(t *testing.T) map[string]any {
		return parse(t, buf.String())
	})
}

// parse reads one line back into slogtest's map: the message, and each
// key=value with "g.k" keys as nested maps. The handler leaves out the
// time and the level by design: parse checks that they are absent, and
// puts them in, as slogtest asks of a handler that drops them; but for
// the "zero-time" case, which checks that a zero time is left out.
func parse(t *testing.T, line string) map[string]any {
	line, ok := strings.CutSuffix(line, "\n")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("not one line: %q", line)
	}
	line, ok = strings.CutPrefix(line, "prog: ")
	if !ok {
		t.Fatalf("no program prefix: %q", line)
	}
	m := map[string]any{}
	var msg []string
	for _, tok := range tokens(line) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			msg = append(msg, tok)
			continue
		}
		keys := strings.Split(k, ".")
		g := m
		for _, k := range keys[:len(keys)-1] {
			sub, ok := g[k].(map[string]any)
			if !ok {
				sub = map[string]any{}
				g[k] = sub
			}
			g = sub
		}
		g[keys[len(keys)-1]] = strings.Trim(v, `"`)
	}
	m[slog.MessageKey] = strings.Join(msg, " ")
	for _, k := range []string{slog.TimeKey, slog.LevelKey} {
		if _, ok := m[k]; ok {
			t.Errorf("%s printed: %q", k, line)
		}
		if !strings.HasSuffix(t.Name(), "/zero-time") {
			m[k] = "not printed"
		}
	}
	return m
}

// tokens splits at spaces outside double quotes.
func tokens(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
			cur.WriteRune(c)
		case c == ' ' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(c)
		}
	}
	return append(out, cur.String())
}

// nilErr is an error whose Error panics on a nil receiver.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// TestPanickingValue: a value whose Error panics is shown as a panic, and
// the line is still written.
func TestPanickingValue(t *testing.T) {
	var buf bytes.Buffer
	var err error = (*nilErr)(nil)
	New(&buf, "p").Warn("m", "err", err)
	if got := buf.String(); !strings.HasPrefix(got, `p: m err="!PANIC: `) || !strings.HasSuffix(got, "\n") {
		t.Errorf("got %q", got)
	}
}
