package wire

// Status is a reply status code, 0..9, sent as one ASCII digit '0'..'9'.
type Status byte

// StatusOK is the success code of every operation.
const StatusOK Status = 0

// statusLast is the largest code one digit can send: StatusFor's answer
// for an operation without codes of its own.
const statusLast Status = 9

// Byte returns the status as it is sent: an ASCII digit.
func (s Status) Byte() byte { return '0' + byte(s) }

// Outcome is what an operation came to, in the directory's own terms.
// StatusFor turns it into the code of a given operation, whose numbering
// differs from one operation to the next (§2).
type Outcome int

// The outcomes of §2 and §3, one per distinct client line.
const (
	OK               Outcome = iota
	UserInUse                // REGISTER: the name is taken
	UserNotFound             // the requester is not registered
	AlreadyConnected         // CONNECT of a connected user
	NotConnected             // the requester is not connected
	AlreadyPublished         // PUBLISH of a listed name
	NotPublished             // DELETE of an unlisted name
	RemoteNotFound           // LIST_CONTENT of an unregistered user
	FileNotFound             // GET_FILE of an unpublished or missing file
	Failed                   // any other failure: the last code of each operation
)

type codeLine struct {
	outcome Outcome
	line    string
}

// codes lists, per operation and in code order, each outcome and the line a
// client prints for it: the table of §2 (and §3 for GET_FILE).
var codes = map[Op][]codeLine{
	Register:     {{OK, "REGISTER OK"}, {UserInUse, "USERNAME IN USE"}, {Failed, "REGISTER FAIL"}},
	Unregister:   {{OK, "UNREGISTER OK"}, {UserNotFound, "USERNAME DOES NOT EXIST"}, {Failed, "UNREGISTER FAIL"}},
	Connect:      {{OK, "CONNECT OK"}, {UserNotFound, "CONNECT FAIL, USER DOES NOT EXIST"}, {AlreadyConnected, "CONNECT FAIL, USER ALREADY CONNECTED"}, {Failed, "CONNECT FAIL"}},
	Disconnect:   {{OK, "DISCONNECT OK"}, {UserNotFound, "DISCONNECT FAIL, USER DOES NOT EXIST"}, {NotConnected, "DISCONNECT FAIL, USER NOT CONNECTED"}, {Failed, "DISCONNECT FAIL"}},
	Publish:      {{OK, "PUBLISH OK"}, {UserNotFound, "PUBLISH FAIL, USER DOES NOT EXIST"}, {NotConnected, "PUBLISH FAIL, USER NOT CONNECTED"}, {AlreadyPublished, "PUBLISH FAIL, CONTENT ALREADY PUBLISHED"}, {Failed, "PUBLISH FAIL"}},
	Delete:       {{OK, "DELETE OK"}, {UserNotFound, "DELETE FAIL, USER DOES NOT EXIST"}, {NotConnected, "DELETE FAIL, USER NOT CONNECTED"}, {NotPublished, "DELETE FAIL, CONTENT NOT PUBLISHED"}, {Failed, "DELETE FAIL"}},
	ListUsers:    {{OK, "LIST_USERS OK"}, {UserNotFound, "LIST_USERS FAIL, USER DOES NOT EXIST"}, {NotConnected, "LIST_USERS FAIL, USER NOT CONNECTED"}, {Failed, "LIST_USERS FAIL"}},
	ListContent:  {{OK, "LIST_CONTENT OK"}, {UserNotFound, "LIST_CONTENT FAIL, USER DOES NOT EXIST"}, {NotConnected, "LIST_CONTENT FAIL, USER NOT CONNECTED"}, {RemoteNotFound, "LIST_CONTENT FAIL, REMOTE USER DOES NOT EXIST"}, {Failed, "LIST_CONTENT FAIL"}},
	Search:       {{OK, "SEARCH OK"}, {UserNotFound, "SEARCH FAIL, USER DOES NOT EXIST"}, {NotConnected, "SEARCH FAIL, USER NOT CONNECTED"}, {Failed, "SEARCH FAIL"}},
	GetFile:      {{OK, "GET_FILE OK"}, {FileNotFound, "GET_FILE FAIL, FILE DOES NOT EXIST"}, {Failed, "GET_FILE FAIL"}},
	GetFileSized: {{OK, "GET_FILE OK"}, {FileNotFound, "GET_FILE FAIL, FILE DOES NOT EXIST"}, {Failed, "GET_FILE FAIL"}},
}

// StatusFor returns op's code for outcome. An outcome op does not know
// (a programming error or a storage failure) maps to op's last code, "any
// other failure".
func StatusFor(op Op, o Outcome) Status {
	tab := codes[op]
	for i, c := range tab {
		if c.outcome == o {
			return Status(i)
		}
	}
	if len(tab) == 0 {
		return statusLast
	}
	return Status(len(tab) - 1)
}

// OutcomeOf returns the outcome op's code s stands for; ok is false when s
// is not one of op's codes.
func OutcomeOf(op Op, s Status) (o Outcome, ok bool) {
	tab := codes[op]
	if int(s) >= len(tab) {
		return Failed, false
	}
	return tab[s].outcome, true
}

// Line returns the line a client prints for op's code s (§2, §3). A code
// op does not define prints as op's generic failure line.
func Line(op Op, s Status) string {
	tab := codes[op]
	if int(s) < len(tab) {
		return tab[s].line
	}
	return FailLine(op)
}

// FailLine is "<OP> FAIL": the line printed when a command fails before a
// status comes back (web service down, bad input, network error).
func FailLine(op Op) string {
	if op == GetFileSized {
		op = GetFile
	}
	return string(op) + " FAIL"
}
