package shell

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"p2p/internal/peer"
	"p2p/internal/show"
	"p2p/internal/wire"
)

// Tab completion (RunTerminal) never contacts a server: it completes from
// what this client has already seen.
//
//   - the first word: the command keywords;
//   - the username of CONNECT, DISCONNECT, UNREGISTER, LIST_CONTENT and
//     GET_FILE: the users of the last user list (the last LIST_USERS
//     answer, the refresh of a GET_FILE included; before any in this
//     session, listusers-<user>.json), the users this client is
//     connected as or last named, and the owners of known remote files;
//   - GET_FILE's remote file name: the files of that user that the last
//     LIST_CONTENT of that user showed, plus those later SEARCHes showed;
//   - PUBLISH's file name and GET_FILE's local name: the names in the
//     working folder, or in the folder of the path typed so far (folders
//     end in '/', and hidden names are offered once a '.' is typed);
//   - DELETE's file name: the current user's published list.
//
// Names that cannot be typed as one argument (they hold a space or a tab:
// the command line splits at those) or that package show would not show
// as they are (control characters, invalid UTF-8: put in the line, they
// would drive the terminal) are never offered; such a name can still be
// typed by hand where the command line allows it.
//
// Memory is bounded: at most maxNames usernames and maxNames remote file
// names (over all users) are kept, the first ones seen, and a Tab in a
// local folder looks at no more than maxScan of its entries.
const (
	maxNames = 10000
	maxScan  = 100000
)

// names is what completion knows. The line editor calls the completer from
// its own goroutine, even while a command runs (keys typed ahead), so
// everything here is under mu and nothing else of the Shell is read.
type names struct {
	dir string

	mu sync.Mutex
	// users is the last LIST_USERS answer of this session (listed tells
	// there was one); before one, fileUsers are those of the
	// listusers-<fileFor>.json file, read at the first Tab that needs it.
	users     []string
	listed    bool
	fileUsers []string
	fileFor   string
	fileRead  bool
	// files are the known remote files, by owner; nfiles counts them all.
	files  fileSet
	nfiles int
	// me is the user requests carry, own the users this client is
	// connected as and the last one named, published the current user's
	// list (nil when not connected).
	me        string
	own       []string
	published *peer.Catalog
}

func newNames(dir string) *names {
	return &names{dir: dir, files: fileSet{}}
}

// completable reports whether name may be offered (see above).
func completable(name string) bool {
	return name != "" && !strings.ContainsAny(name, " \t") && show.Safe(name)
}

// nameList collects a user list as it is read, keeping the first maxNames
// completable names.
type nameList struct{ names []string }

func (l *nameList) add(name string) {
	if len(l.names) < maxNames && completable(name) {
		l.names = append(l.names, name)
	}
}

// setUsers makes l the last user list seen.
func (n *names) setUsers(l *nameList) {
	n.mu.Lock()
	n.users, n.listed = l.names, true
	n.mu.Unlock()
}

// fileSet holds remote file names by owner.
type fileSet map[string]map[string]struct{}

// add puts (user, file) in the set and reports whether it was new.
func (fs fileSet) add(user, file string) bool {
	set := fs[user]
	if set == nil {
		set = map[string]struct{}{}
		fs[user] = set
	}
	if _, ok := set[file]; ok {
		return false
	}
	set[file] = struct{}{}
	return true
}

// fileBatch collects the (owner, file) pairs of one list reply, at most
// maxNames of them.
type fileBatch struct {
	files fileSet
	n     int
}

func (n *names) newFileBatch() *fileBatch { return &fileBatch{files: fileSet{}} }

func (b *fileBatch) add(user, file string) {
	if b.n < maxNames && completable(user) && completable(file) && b.files.add(user, file) {
		b.n++
	}
}

// setFiles records a LIST_CONTENT of user: its files are now those of b.
func (n *names) setFiles(user string, b *fileBatch) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nfiles -= len(n.files[user])
	delete(n.files, user)
	n.mergeLocked(b)
}

// addFiles records a SEARCH: its matches join what is known of each owner.
func (n *names) addFiles(b *fileBatch) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mergeLocked(b)
}

func (n *names) mergeLocked(b *fileBatch) {
	for user, files := range b.files {
		for f := range files {
			if n.nfiles >= maxNames {
				return
			}
			if n.files.add(user, f) {
				n.nfiles++
			}
		}
	}
}

// syncNames copies what completion needs of the shell's state; Exec calls
// it after each command, on the shell's goroutine.
func (s *Shell) syncNames() {
	own := s.ConnectedUsers()
	if s.named != "" && !slices.Contains(own, s.named) {
		own = append(own, s.named)
	}
	var pub *peer.Catalog
	if c := s.sessionOf(s.Connected()); c != nil {
		pub = c.files
	}
	n := s.names
	n.mu.Lock()
	n.me, n.own, n.published = s.User(), own, pub
	n.mu.Unlock()
}

// userNames are the usernames completion offers.
func (n *names) userNames() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	users := n.users
	if !n.listed {
		// No LIST_USERS this session: the file the last one wrote.
		if !n.fileRead || n.fileFor != n.me {
			n.fileUsers, n.fileFor, n.fileRead = readUserNames(n.dir, n.me), n.me, true
		}
		users = n.fileUsers
	}
	out := slices.Concat(users, n.own)
	for u := range n.files {
		out = append(out, u)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readUserNames reads the first maxNames completable usernames of
// listusers-<me>.json, nil when there is none.
func readUserNames(dir, me string) []string {
	if me == "" {
		return nil
	}
	path, err := jsonFile(dir, "listusers-", me)
	if err != nil {
		return nil
	}
	var l nameList
	findInJSON(path, func(u *userEntry) bool {
		l.add(u.Username)
		return len(l.names) >= maxNames
	})
	return l.names
}

// remoteFiles are the known files of user, sorted.
func (n *names) remoteFiles(user string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.files[user]))
	for f := range n.files[user] {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// publishedFiles are the current user's published names.
func (n *names) publishedFiles() []string {
	n.mu.Lock()
	pub := n.published
	n.mu.Unlock()
	if pub == nil {
		return nil
	}
	var out []string
	for _, f := range pub.Files() {
		if completable(f.Filename) {
			out = append(out, f.Filename)
		}
	}
	slices.Sort(out)
	return out
}

// localNames are the entries of the folder of typed (the working folder
// for a relative path) whose names start with typed's last element, as
// typed's folder part followed by the name: folders end in '/'.
func (n *names) localNames(typed string) []string {
	dirPart, base := "", typed
	if i := strings.LastIndexByte(typed, '/'); i >= 0 {
		dirPart, base = typed[:i+1], typed[i+1:]
	}
	dir := dirPart
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(n.dir, dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	for scanned := 0; scanned < maxScan && len(out) < maxNames; {
		ents, err := f.ReadDir(256)
		for _, e := range ents {
			scanned++
			name := e.Name()
			if !strings.HasPrefix(name, base) || !completable(name) || name[0] == '.' && !strings.HasPrefix(base, ".") {
				continue
			}
			isDir := e.IsDir()
			if e.Type()&os.ModeSymlink != 0 {
				if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
					isDir = st.IsDir()
				}
			}
			if isDir {
				name += "/"
			}
			out = append(out, dirPart+name)
		}
		if err != nil {
			break
		}
	}
	slices.Sort(out)
	return out
}

// completer is the line editor's AutoCompleter.
type completer struct{ n *names }

// Do returns the completions of the word before the cursor: the rest of
// each candidate after what was typed (readline inserts it, or their
// common part), and the length in runes of what was typed.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	typed := strings.TrimLeft(string(line[:pos]), " \t")
	words := strings.FieldsFunc(typed, func(r rune) bool { return r == ' ' || r == '\t' })
	cur := ""
	if len(words) > 0 && !strings.HasSuffix(typed, " ") && !strings.HasSuffix(typed, "\t") {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	if len(words) == 0 {
		return commandWords(cur)
	}
	var cands []string
	switch cmd, arg := wire.Op(strings.ToUpper(words[0])), len(words)-1; {
	case arg == 0 && (cmd == wire.Connect || cmd == wire.Disconnect || cmd == wire.Unregister || cmd == wire.ListContent || cmd == wire.GetFile):
		cands = c.n.userNames()
	case arg == 1 && cmd == wire.GetFile:
		cands = c.n.remoteFiles(words[1])
	case arg == 2 && cmd == wire.GetFile, arg == 0 && cmd == wire.Publish:
		cands = c.n.localNames(cur)
	case arg == 0 && cmd == wire.Delete:
		cands = c.n.publishedFiles()
	}
	var out [][]rune
	for _, cand := range cands {
		if !strings.HasPrefix(cand, cur) {
			continue
		}
		rest := cand[len(cur):]
		if !strings.HasSuffix(cand, "/") {
			rest += " "
		}
		out = append(out, []rune(rest))
	}
	return out, utf8.RuneCountInString(cur)
}

// commandWords completes the first word to a command keyword, in the case
// the user started typing it in.
func commandWords(typed string) ([][]rune, int) {
	for i := range len(typed) {
		if typed[i] >= utf8.RuneSelf {
			return nil, 0 // no keyword holds more than ASCII
		}
	}
	lower := typed != "" && strings.ToLower(typed) == typed && strings.ToUpper(typed) != typed
	var out [][]rune
	for _, w := range keywords() {
		if strings.HasPrefix(w, strings.ToUpper(typed)) {
			rest := w[len(typed):] + " "
			if lower {
				rest = strings.ToLower(rest)
			}
			out = append(out, []rune(rest))
		}
	}
	return out, utf8.RuneCountInString(typed)
}
