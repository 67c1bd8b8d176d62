package shell

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"p2p/internal/tempfile"
)

// A list reply (LIST_USERS, LIST_CONTENT, SEARCH) may announce up to
// wire.MaxListRecords records, hundreds of megabytes. The client never holds
// one in memory: the records go to a spool file as they are read, and only
// once the whole list has arrived (else the command fails and nothing of
// the list is shown) are they printed and written to the JSON file, one at
// a time, from the spool. Memory stays bounded by the buffers, whatever the
// server announces.

// spool keeps the values of a list's records on disk: each record is its
// values, each ended by a NUL (which no value holds). The file is unlinked
// as soon as it is created, so nothing is left behind whatever happens.
type spool struct {
	f      *os.File
	w      *bufio.Writer
	fields int
	n      int
}

func newSpool(dir string, fields int) (*spool, error) {
	f, err := os.CreateTemp(dir, ".p2p-spool-*")
	if err != nil {
		// An unwritable working folder: the system's temporary folder.
		if f, err = os.CreateTemp("", "p2p-spool-*"); err != nil {
			return nil, fmt.Errorf("no room for the list: %w", err)
		}
	}
	os.Remove(f.Name())
	return &spool{f: f, w: bufio.NewWriterSize(f, 64<<10), fields: fields}, nil
}

func (sp *spool) add(values ...string) error {
	for _, v := range values {
		sp.w.WriteString(v)
		if err := sp.w.WriteByte(0); err != nil {
			return fmt.Errorf("keeping the list: %w", err)
		}
	}
	sp.n++
	return nil
}

// each calls fn with the values of every record, in order.
func (sp *spool) each(fn func(values []string)) error {
	if err := sp.w.Flush(); err != nil {
		return fmt.Errorf("keeping the list: %w", err)
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(sp.f, 64<<10)
	values := make([]string, sp.fields)
	for range sp.n {
		for i := range values {
			v, err := r.ReadString(0)
			if err != nil {
				return fmt.Errorf("reading the kept list: %w", err)
			}
			values[i] = v[:len(v)-1]
		}
		fn(values)
	}
	return nil
}

// close drops the spool; a nil spool (none was made) is fine.
func (sp *spool) close() {
	if sp != nil {
		sp.f.Close()
	}
}

// jsonWriter writes one of the JSON files of §7 as it goes: an array of
// objects of string values, keys in the given order, in the layout
// Python's json.dump gives (the original client's):
// [{"Username": "alice", "IP address": "127.0.0.1", "Port": "40123"}].
// Non-ASCII text stays UTF-8. It writes to a temporary file beside path
// that commit syncs and renames over path, so a reader sees the old file
// or the new one, never a part.
type jsonWriter struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int
	err  error
}

func newJSONWriter(path string) *jsonWriter {
	dir, base := filepath.Split(path)
	f, err := tempfile.Create(dir, base)
	j := &jsonWriter{path: path, err: err}
	if err == nil {
		j.f, j.w = f, bufio.NewWriterSize(f, 64<<10)
		j.w.WriteByte('[')
	}
	return j
}

// object appends one object; keys and values alternate in kv.
func (j *jsonWriter) object(kv ...string) {
	if j.err != nil {
		return
	}
	if j.n > 0 {
		j.w.WriteString(", ")
	}
	j.n++
	j.w.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			j.w.WriteString(", ")
		}
		writeJSONString(j.w, kv[i])
		j.w.WriteString(": ")
		writeJSONString(j.w, kv[i+1])
	}
	if err := j.w.WriteByte('}'); err != nil {
		j.err = err
	}
}

// commit ends the array and gives the file its name.
func (j *jsonWriter) commit() error {
	if j.err == nil {
		j.w.WriteString("]\n")
		j.err = j.w.Flush()
	}
	if j.err == nil {
		j.err = j.f.Sync()
	}
	if j.err == nil {
		j.err = os.Rename(j.f.Name(), j.path)
	}
	// Closed after the rename: its lock keeps the temporary file from a
	// cleaning client until it has its name (package tempfile).
	if j.f != nil {
		if cerr := j.f.Close(); j.err == nil {
			j.err = cerr
		}
	}
	if j.err != nil {
		j.abort()
		return fmt.Errorf("writing %s: %w", j.path, j.err)
	}
	return nil
}

// abort drops the temporary file; the old file stays.
func (j *jsonWriter) abort() {
	if j.f != nil {
		j.f.Close()
		os.Remove(j.f.Name())
	}
}

var jsonBufs = sync.Pool{New: func() any { return new(strings.Builder) }}

func writeJSONString(w *bufio.Writer, v string) {
	b := jsonBufs.Get().(*strings.Builder)
	b.Reset()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a string always encodes
	w.WriteString(strings.TrimSuffix(b.String(), "\n"))
	jsonBufs.Put(b)
}

// findInJSON reads the array of objects in path one object at a time (the
// file may be long) and returns the first for which match is true.
func findInJSON[T any](path string, match func(*T) bool) (*T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%s: not a JSON array", path)
	}
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if match(&v) {
			return &v, nil
		}
	}
	return nil, nil
}
