package shell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"p2p/internal/tempfile"
	"p2p/internal/wire"
)

// The JSON files of §7 live in the working directory.
func (s *Shell) usersPath(user string) string {
	return filepath.Join(s.cfg.Dir, "listusers-"+user+".json")
}

func (s *Shell) publishedPath(user string) string {
	return filepath.Join(s.cfg.Dir, "published-"+user+".json")
}

// userEntry and fileEntry are the objects of the two files, with the key
// names of §7 (spaces included).
type userEntry struct {
	Username string `json:"Username"`
	IP       string `json:"IP address"`
	Port     string `json:"Port"`
}

type fileEntry struct {
	Filename    string `json:"Filename"`
	Description string `json:"Description"`
}

// writeUsers rewrites listusers-<user>.json; a failure is a warning (the
// server's answer stands).
func (s *Shell) writeUsers(user string, users []wire.UserRecord) {
	objs := make([][][2]string, len(users))
	for i, u := range users {
		objs[i] = [][2]string{{"Username", u.Username}, {"IP address", u.IP}, {"Port", u.Port}}
	}
	s.writeJSON(s.usersPath(user), objs)
}

func (s *Shell) writePublished(user string, files []wire.FileRecord) {
	objs := make([][][2]string, len(files))
	for i, f := range files {
		objs[i] = [][2]string{{"Filename", f.Filename}, {"Description", f.Description}}
	}
	s.writeJSON(s.publishedPath(user), objs)
}

// writeJSON writes an array of objects of string values, keys in the given
// order, in the layout Python's json.dump gives (the original client's):
// [{"Username": "alice", "IP address": "127.0.0.1", "Port": "40123"}].
// Non-ASCII text stays UTF-8. The file is replaced atomically.
func (s *Shell) writeJSON(path string, objs [][][2]string) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, o := range objs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('{')
		for j, kv := range o {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(jsonString(kv[0]) + ": " + jsonString(kv[1]))
		}
		b.WriteByte('}')
	}
	b.WriteString("]\n")
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		s.out.errline("warning: " + err.Error())
	}
}

func jsonString(v string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// writeFileAtomic writes data to a temporary file in path's folder, syncs
// it and renames it over path: a reader sees the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	f, err := tempfile.Create(dir, base)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	// Closed after the rename: the lock keeps the temporary file from
	// a cleaning client until it has its name.
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// readUsers reads listusers-<user>.json.
func (s *Shell) readUsers(user string) ([]userEntry, error) {
	var users []userEntry
	data, err := os.ReadFile(s.usersPath(user))
	if err == nil {
		err = json.Unmarshal(data, &users)
	}
	return users, err
}

// readPublished reads published-<user>.json; a missing or broken file reads
// as an empty list.
func (s *Shell) readPublished(user string) []wire.FileRecord {
	var objs []fileEntry
	data, err := os.ReadFile(s.publishedPath(user))
	if err == nil {
		if err := json.Unmarshal(data, &objs); err != nil {
			s.out.errline(fmt.Sprintf("warning: %s: %v; starting it again", s.publishedPath(user), err))
		}
	}
	files := make([]wire.FileRecord, 0, len(objs))
	for _, o := range objs {
		files = append(files, wire.FileRecord{Filename: o.Filename, Description: o.Description})
	}
	return files
}

func appendFile(files []wire.FileRecord, f wire.FileRecord) []wire.FileRecord {
	return append(removeFile(files, f.Filename), f)
}

func removeFile(files []wire.FileRecord, name string) []wire.FileRecord {
	out := files[:0]
	for _, f := range files {
		if f.Filename != name {
			out = append(out, f)
		}
	}
	return out
}
