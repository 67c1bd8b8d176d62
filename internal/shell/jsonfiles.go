package shell

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"p2p/internal/directory"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// The JSON files of §7 live in the working directory. A username becomes
// part of a file name, so it must be safe as the directory's rule says
// (directory.SafeName: no '/', no "..", no control byte...): a server that
// accepted "../x" must not make the client write outside its folder.
func (s *Shell) usersPath(user string) (string, error) {
	return jsonFile(s.cfg.Dir, "listusers-", user)
}

func (s *Shell) publishedPath(user string) (string, error) {
	return jsonFile(s.cfg.Dir, "published-", user)
}

// jsonFile is the path of the JSON file prefix+user+".json" in dir.
func jsonFile(dir, prefix, user string) (string, error) {
	if !directory.SafeName(user) {
		return "", fmt.Errorf("the username %s cannot be part of a file name", show.Quoted(user))
	}
	return filepath.Join(dir, prefix+user+".json"), nil
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

// writePublished rewrites published-<user>.json; a failure is a warning
// (the server's answer stands).
func (s *Shell) writePublished(user string, files []wire.FileRecord) {
	path, err := s.publishedPath(user)
	if err != nil {
		s.out.errline("warning: " + err.Error())
		return
	}
	j := newJSONWriter(path)
	for _, f := range files {
		j.object("Filename", f.Filename, "Description", f.Description)
	}
	if err := j.commit(); err != nil {
		s.out.errline("warning: " + err.Error())
	}
}

// findUser looks user up in listusers-<me>.json, reading it one object at
// a time; nil when not listed.
func (s *Shell) findUser(me, user string) (*userEntry, error) {
	path, err := s.usersPath(me)
	if err != nil {
		return nil, err
	}
	return findInJSON(path, func(u *userEntry) bool { return u.Username == user })
}

// readPublished reads published-<user>.json; a missing or broken file reads
// as an empty list.
func (s *Shell) readPublished(user string) []wire.FileRecord {
	var objs []fileEntry
	path, err := s.publishedPath(user)
	if err != nil {
		return nil
	}
	data, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(data, &objs); err != nil {
			s.out.errline(fmt.Sprintf("warning: %s: %v; starting it again", path, err))
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
