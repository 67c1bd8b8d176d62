package shell

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// HistoryLimit is the number of lines the terminal's history keeps, in
// memory and in the history file (Config.HistoryFile).
const HistoryLimit = 1000

// maxHistoryLine is the longest history line kept from the file: the
// longest command (GET_FILE with three names of 255 bytes) is well under
// it; a longer line is not one this client wrote.
const maxHistoryLine = 4096

// prepareHistory makes path ready for the line editor, which appends each
// line entered to it and reads it back at start: it is created readable by
// its owner only (it holds the names one typed), and when it holds more
// than limit lines, or lines longer than maxHistoryLine, it is rewritten
// atomically with the last limit lines that are not; a last line with no
// newline (a crash mid-write, an edit by hand) is ended. So the editor, which
// would rewrite it itself with the umask's permissions, never needs to,
// and what it reads at start is bounded.
func prepareHistory(path string, limit int) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return err // /dev/null, say: nothing to trim
	}
	keep := make([][]byte, 0, limit) // a ring of the last lines
	next, total, dropped, unended := 0, 0, false, false
	r := bufio.NewReaderSize(f, maxHistoryLine)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Too long: skip to its end.
			dropped = true
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			total++
			unended = line[len(line)-1] != '\n'
			if l := bytes.TrimRight(line, "\r\n"); len(bytes.TrimSpace(l)) > 0 {
				if len(keep) < limit {
					keep = append(keep, bytes.Clone(l))
				} else {
					keep[next] = append(keep[next][:0], l...)
					next = (next + 1) % limit
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if total <= limit && !dropped {
		if unended {
			// The editor reads only ended lines and appends after
			// the last byte: end the last line, or it would be
			// lost and the next line typed glued to it.
			_, err := f.Write([]byte{'\n'})
			return err
		}
		return nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	for i := range keep {
		w.Write(keep[(next+i)%len(keep)])
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("trimming to %d lines: %w", limit, err)
	}
	return nil
}
