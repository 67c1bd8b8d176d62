package wire

import (
	"errors"
	"fmt"
	"io"
)

// Request is one client request to the central server (§2): cop, datetime,
// username, then the fields the operation adds.
type Request struct {
	Op       Op
	DateTime string
	Username string
	// Port is CONNECT's port field: the requester's GET_FILE listener.
	Port string
	// Filename is PUBLISH's and DELETE's file name.
	Filename string
	// Description is PUBLISH's description.
	Description string
	// Remote is LIST_CONTENT's remote username.
	Remote string
	// Words is SEARCH's words field: the query, as typed.
	Words string
}

// field is one fixed field of a message: its width and where its value lives.
type field struct {
	width int
	value func(*Request) *string
}

// requestFields are, for each server op, the fields that follow its cop,
// in wire order (built once: ReadRequest runs for every request).
var requestFields = func() map[Op][]field {
	m := make(map[Op][]field, len(ServerOps))
	for _, op := range ServerOps {
		m[op] = fieldsFor(op)
	}
	return m
}()

// fieldsOf lists the fields that follow the cop of op, in wire order.
func fieldsOf(op Op) []field { return requestFields[op] }

func fieldsFor(op Op) []field {
	f := []field{
		{DateTimeSize, func(r *Request) *string { return &r.DateTime }},
		{NameSize, func(r *Request) *string { return &r.Username }},
	}
	switch op {
	case Connect:
		f = append(f, field{PortSize, func(r *Request) *string { return &r.Port }})
	case Publish:
		f = append(f, field{NameSize, func(r *Request) *string { return &r.Filename }},
			field{NameSize, func(r *Request) *string { return &r.Description }})
	case Delete:
		f = append(f, field{NameSize, func(r *Request) *string { return &r.Filename }})
	case ListContent:
		f = append(f, field{NameSize, func(r *Request) *string { return &r.Remote }})
	case Search:
		f = append(f, field{NameSize, func(r *Request) *string { return &r.Words }})
	}
	return f
}

// MaxRequestSize is the size of the longest request a server can be sent.
const MaxRequestSize = MaxCopLen + 1 + DateTimeSize + 3*NameSize

// AppendRequest appends req's bytes. It fails, appending nothing, when the
// op is not a server operation or a value does not fit its field.
func AppendRequest(buf []byte, req Request) ([]byte, error) {
	if !IsServerOp(req.Op) {
		return buf, fmt.Errorf("%w: %q", ErrUnknownOp, req.Op)
	}
	out := AppendOp(buf, req.Op)
	var err error
	for _, f := range fieldsOf(req.Op) {
		if out, err = AppendField(out, *f.value(&req), f.width); err != nil {
			return buf, err
		}
	}
	return out, nil
}

// ReadRequest reads one request. Errors:
//   - io.EOF: the peer sent nothing;
//   - io.ErrUnexpectedEOF: the request ended before its last field;
//   - ErrUnknownOp, or another ErrMalformed: a bad cop (answer nothing);
//   - ErrInvalidField: the whole request was read, but a field had no NUL.
//     The returned Request has its Op and every valid field set, so the
//     server can answer that operation's last code.
func ReadRequest(r ByteReader) (Request, error) {
	op, err := ReadOp(r)
	if err != nil {
		return Request{}, err
	}
	if !IsServerOp(op) {
		return Request{}, fmt.Errorf("%w: %q", ErrUnknownOp, op)
	}
	req := Request{Op: op}
	var invalid error
	buf := make([]byte, NameSize) // one buffer for every field: NameSize is the widest
	for _, f := range fieldsOf(op) {
		v, err := readField(r, buf[:f.width])
		switch {
		case errors.Is(err, ErrInvalidField):
			if invalid == nil {
				invalid = err
			}
		case err != nil:
			return req, eofIsUnexpected(err)
		default:
			*f.value(&req) = v
		}
	}
	return req, invalid
}

// UserRecord is one record of a LIST_USERS reply.
type UserRecord struct {
	Username string
	IP       string
	Port     string
}

// FileRecord is one record of a LIST_CONTENT reply.
type FileRecord struct {
	Filename    string
	Description string
}

// SearchRecord is one record of a SEARCH reply: a published file and its
// owner.
type SearchRecord struct {
	Username    string
	Filename    string
	Description string
}

// UserRecordSize, FileRecordSize and SearchRecordSize are the sizes of one
// list record.
const (
	UserRecordSize   = NameSize + IPSize + PortSize
	FileRecordSize   = 2 * NameSize
	SearchRecordSize = 3 * NameSize
)

// AppendUserList appends a LIST_USERS success reply: '0', the count, then
// every record's username, ip and port.
func AppendUserList(buf []byte, users []UserRecord) ([]byte, error) {
	out := AppendCount(AppendStatus(buf, StatusOK), uint32(len(users)))
	var err error
	for _, u := range users {
		if out, err = AppendUserRecord(out, u); err != nil {
			return buf, err
		}
	}
	return out, nil
}

// AppendUserRecord appends one LIST_USERS record.
func AppendUserRecord(buf []byte, u UserRecord) ([]byte, error) {
	out, err := AppendField(buf, u.Username, NameSize)
	if err == nil {
		out, err = AppendField(out, u.IP, IPSize)
	}
	if err == nil {
		out, err = AppendField(out, u.Port, PortSize)
	}
	if err != nil {
		return buf, err
	}
	return out, nil
}

// AppendFileList appends a LIST_CONTENT success reply: '0', the count, then
// every record's filename and description.
func AppendFileList(buf []byte, files []FileRecord) ([]byte, error) {
	out := AppendCount(AppendStatus(buf, StatusOK), uint32(len(files)))
	var err error
	for _, f := range files {
		if out, err = AppendFileRecord(out, f); err != nil {
			return buf, err
		}
	}
	return out, nil
}

// AppendFileRecord appends one LIST_CONTENT record.
func AppendFileRecord(buf []byte, f FileRecord) ([]byte, error) {
	out, err := AppendField(buf, f.Filename, NameSize)
	if err == nil {
		out, err = AppendField(out, f.Description, NameSize)
	}
	if err != nil {
		return buf, err
	}
	return out, nil
}

// AppendSearchList appends a SEARCH success reply: '0', the count, then
// every record's username, filename and description.
func AppendSearchList(buf []byte, recs []SearchRecord) ([]byte, error) {
	out := AppendCount(AppendStatus(buf, StatusOK), uint32(len(recs)))
	var err error
	for _, r := range recs {
		if out, err = AppendSearchRecord(out, r); err != nil {
			return buf, err
		}
	}
	return out, nil
}

// AppendSearchRecord appends one SEARCH record.
func AppendSearchRecord(buf []byte, r SearchRecord) ([]byte, error) {
	out, err := AppendField(buf, r.Username, NameSize)
	if err == nil {
		out, err = AppendField(out, r.Filename, NameSize)
	}
	if err == nil {
		out, err = AppendField(out, r.Description, NameSize)
	}
	if err != nil {
		return buf, err
	}
	return out, nil
}

// MaxListRecords bounds the records a client accepts in one list reply, so
// a lying count cannot make it read (or keep) without end.
const MaxListRecords = 1 << 20

// ReadUserList reads the count and records that follow a LIST_USERS '0'.
func ReadUserList(r io.Reader) ([]UserRecord, error) {
	n, err := readListCount(r)
	if err != nil {
		return nil, err
	}
	users := make([]UserRecord, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		var u UserRecord
		if u.Username, err = ReadField(r, NameSize); err == nil {
			if u.IP, err = ReadField(r, IPSize); err == nil {
				u.Port, err = ReadField(r, PortSize)
			}
		}
		if err != nil {
			return users, eofIsUnexpected(err)
		}
		users = append(users, u)
	}
	return users, nil
}

// ReadFileList reads the count and records that follow a LIST_CONTENT '0'.
func ReadFileList(r io.Reader) ([]FileRecord, error) {
	n, err := readListCount(r)
	if err != nil {
		return nil, err
	}
	files := make([]FileRecord, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		var f FileRecord
		if f.Filename, err = ReadField(r, NameSize); err == nil {
			f.Description, err = ReadField(r, NameSize)
		}
		if err != nil {
			return files, eofIsUnexpected(err)
		}
		files = append(files, f)
	}
	return files, nil
}

// ReadListCount reads the count of a list reply (after its '0'); a count
// over MaxListRecords is malformed. The records can then be read one at a
// time with ReadUserRecord, ReadFileRecord or ReadSearchRecord, so a client need not hold a
// long list in memory.
func ReadListCount(r io.Reader) (int, error) { return readListCount(r) }

// ReadUserRecord reads one LIST_USERS record into buf (at least
// UserRecordSize bytes, reused between calls) and returns it.
func ReadUserRecord(r io.Reader, buf []byte) (UserRecord, error) {
	var u UserRecord
	buf = buf[:UserRecordSize]
	if _, err := io.ReadFull(r, buf); err != nil {
		return u, eofIsUnexpected(err)
	}
	var err error
	if u.Username, err = ParseField(buf[:NameSize]); err == nil {
		if u.IP, err = ParseField(buf[NameSize : NameSize+IPSize]); err == nil {
			u.Port, err = ParseField(buf[NameSize+IPSize:])
		}
	}
	return u, err
}

// ReadFileRecord reads one LIST_CONTENT record into buf (at least
// FileRecordSize bytes, reused between calls) and returns it.
func ReadFileRecord(r io.Reader, buf []byte) (FileRecord, error) {
	var f FileRecord
	buf = buf[:FileRecordSize]
	if _, err := io.ReadFull(r, buf); err != nil {
		return f, eofIsUnexpected(err)
	}
	var err error
	if f.Filename, err = ParseField(buf[:NameSize]); err == nil {
		f.Description, err = ParseField(buf[NameSize:])
	}
	return f, err
}

// ReadSearchRecord reads one SEARCH record into buf (at least
// SearchRecordSize bytes, reused between calls) and returns it.
func ReadSearchRecord(r io.Reader, buf []byte) (SearchRecord, error) {
	var s SearchRecord
	buf = buf[:SearchRecordSize]
	if _, err := io.ReadFull(r, buf); err != nil {
		return s, eofIsUnexpected(err)
	}
	var err error
	if s.Username, err = ParseField(buf[:NameSize]); err == nil {
		if s.Filename, err = ParseField(buf[NameSize : 2*NameSize]); err == nil {
			s.Description, err = ParseField(buf[2*NameSize:])
		}
	}
	return s, err
}

// ReadSearchList reads the count and records that follow a SEARCH '0'.
func ReadSearchList(r io.Reader) ([]SearchRecord, error) {
	n, err := readListCount(r)
	if err != nil {
		return nil, err
	}
	recs := make([]SearchRecord, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		var s SearchRecord
		if s.Username, err = ReadField(r, NameSize); err == nil {
			if s.Filename, err = ReadField(r, NameSize); err == nil {
				s.Description, err = ReadField(r, NameSize)
			}
		}
		if err != nil {
			return recs, eofIsUnexpected(err)
		}
		recs = append(recs, s)
	}
	return recs, nil
}

func readListCount(r io.Reader) (int, error) {
	n, err := ReadCount(r)
	if err != nil {
		return 0, err
	}
	if n > MaxListRecords {
		return 0, fmt.Errorf("%w: list of %d records exceeds %d", ErrMalformed, n, MaxListRecords)
	}
	return int(n), nil
}

// AppendPeerRequest appends a peer request (§3): GET_FILE or GET_FILE_SIZED,
// then the filename field.
func AppendPeerRequest(buf []byte, op Op, filename string) ([]byte, error) {
	if !IsPeerOp(op) {
		return buf, fmt.Errorf("%w: %q", ErrUnknownOp, op)
	}
	out, err := AppendField(AppendOp(buf, op), filename, NameSize)
	if err != nil {
		return buf, err
	}
	return out, nil
}

// ReadPeerRequest reads a peer request: a peer op, then the filename. Its
// errors are those of ReadRequest.
func ReadPeerRequest(r ByteReader) (Op, string, error) {
	op, err := ReadOp(r)
	if err != nil {
		return "", "", err
	}
	if !IsPeerOp(op) {
		return "", "", fmt.Errorf("%w: %q", ErrUnknownOp, op)
	}
	name, err := ReadField(r, NameSize)
	if err != nil && !errors.Is(err, ErrInvalidField) {
		err = eofIsUnexpected(err)
	}
	return op, name, err
}
