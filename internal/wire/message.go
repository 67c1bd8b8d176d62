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

// The widths of the fields of each list record, in order.
var (
	userFields   = []int{NameSize, IPSize, PortSize}
	fileFields   = []int{NameSize, NameSize}
	searchFields = []int{NameSize, NameSize, NameSize}
)

// Encodable reports whether every field of u fits its width, so that
// AppendUserRecord cannot fail.
func (u UserRecord) Encodable() bool {
	return fieldsFit(userFields, u.Username, u.IP, u.Port)
}

// Encodable reports whether every field of f fits its width, so that
// AppendFileRecord cannot fail.
func (f FileRecord) Encodable() bool {
	return fieldsFit(fileFields, f.Filename, f.Description)
}

// Encodable reports whether every field of r fits its width, so that
// AppendSearchRecord cannot fail.
func (r SearchRecord) Encodable() bool {
	return fieldsFit(searchFields, r.Username, r.Filename, r.Description)
}

func fieldsFit(widths []int, values ...string) bool {
	for i, v := range values {
		if !FieldFits(v, widths[i]) {
			return false
		}
	}
	return true
}

// AppendUserList appends a LIST_USERS success reply: '0', the count, then
// every record's username, ip and port.
func AppendUserList(buf []byte, users []UserRecord) ([]byte, error) {
	return appendList(buf, users, AppendUserRecord)
}

// AppendUserRecord appends one LIST_USERS record.
func AppendUserRecord(buf []byte, u UserRecord) ([]byte, error) {
	return appendRecord(buf, userFields, u.Username, u.IP, u.Port)
}

// AppendFileList appends a LIST_CONTENT success reply: '0', the count, then
// every record's filename and description.
func AppendFileList(buf []byte, files []FileRecord) ([]byte, error) {
	return appendList(buf, files, AppendFileRecord)
}

// AppendFileRecord appends one LIST_CONTENT record.
func AppendFileRecord(buf []byte, f FileRecord) ([]byte, error) {
	return appendRecord(buf, fileFields, f.Filename, f.Description)
}

// AppendSearchList appends a SEARCH success reply: '0', the count, then
// every record's username, filename and description.
func AppendSearchList(buf []byte, recs []SearchRecord) ([]byte, error) {
	return appendList(buf, recs, AppendSearchRecord)
}

// AppendSearchRecord appends one SEARCH record.
func AppendSearchRecord(buf []byte, r SearchRecord) ([]byte, error) {
	return appendRecord(buf, searchFields, r.Username, r.Filename, r.Description)
}

// appendList appends a list success reply: '0', the count, then every
// record as appendRec gives it. On error buf comes back as it was.
func appendList[T any](buf []byte, recs []T, appendRec func([]byte, T) ([]byte, error)) ([]byte, error) {
	out := AppendCount(AppendStatus(buf, StatusOK), uint32(len(recs)))
	var err error
	for _, r := range recs {
		if out, err = appendRec(out, r); err != nil {
			return buf, err
		}
	}
	return out, nil
}

// appendRecord appends values as fixed fields of the given widths. On error
// buf comes back as it was.
func appendRecord(buf []byte, widths []int, values ...string) ([]byte, error) {
	out := buf
	var err error
	for i, v := range values {
		if out, err = AppendField(out, v, widths[i]); err != nil {
			return buf, err
		}
	}
	return out, nil
}

// MaxListRecords bounds the records a client accepts in one list reply, so
// a lying count cannot make it read (or keep) without end.
const MaxListRecords = 1 << 20

// ReadUserList reads the count and records that follow a LIST_USERS '0'.
func ReadUserList(r io.Reader) ([]UserRecord, error) {
	return readList(r, UserRecordSize, ReadUserRecord)
}

// ReadFileList reads the count and records that follow a LIST_CONTENT '0'.
func ReadFileList(r io.Reader) ([]FileRecord, error) {
	return readList(r, FileRecordSize, ReadFileRecord)
}

// ReadSearchList reads the count and records that follow a SEARCH '0'.
func ReadSearchList(r io.Reader) ([]SearchRecord, error) {
	return readList(r, SearchRecordSize, ReadSearchRecord)
}

// readList reads a list's count and its records (size bytes each, decoded
// by read); on error it returns the records read before it.
func readList[T any](r io.Reader, size int, read func(io.Reader, []byte) (T, error)) ([]T, error) {
	n, err := readListCount(r)
	if err != nil {
		return nil, err
	}
	recs := make([]T, 0, min(n, 1024))
	buf := make([]byte, size)
	for range n {
		rec, err := read(r, buf)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
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
	err := readRecord(r, buf[:UserRecordSize], userFields, &u.Username, &u.IP, &u.Port)
	return u, err
}

// ReadFileRecord reads one LIST_CONTENT record into buf (at least
// FileRecordSize bytes, reused between calls) and returns it.
func ReadFileRecord(r io.Reader, buf []byte) (FileRecord, error) {
	var f FileRecord
	err := readRecord(r, buf[:FileRecordSize], fileFields, &f.Filename, &f.Description)
	return f, err
}

// ReadSearchRecord reads one SEARCH record into buf (at least
// SearchRecordSize bytes, reused between calls) and returns it.
func ReadSearchRecord(r io.Reader, buf []byte) (SearchRecord, error) {
	var s SearchRecord
	err := readRecord(r, buf[:SearchRecordSize], searchFields, &s.Username, &s.Filename, &s.Description)
	return s, err
}

// readRecord reads one whole record into buf (the sum of widths) and parses
// its fixed fields, of the given widths, into dst. An end of input within
// the record is unexpected.
func readRecord(r io.Reader, buf []byte, widths []int, dst ...*string) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		return eofIsUnexpected(err)
	}
	for i, w := range widths {
		v, err := ParseField(buf[:w])
		if err != nil {
			return err
		}
		*dst[i], buf = v, buf[w:]
	}
	return nil
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
