package testenv

import "p2p/internal/wire"

// Request is the request op would send, its fields after the username
// given in wire order (PROTOCOL.md §2): CONNECT's port; PUBLISH's file
// name and description; DELETE's file name; LIST_CONTENT's remote user;
// SEARCH's words. It panics when extra holds fewer fields than op has, as
// a test's typo should.
func Request(op wire.Op, dateTime, user string, extra ...string) wire.Request {
	r := wire.Request{Op: op, DateTime: dateTime, Username: user}
	switch op {
	case wire.Connect:
		r.Port = extra[0]
	case wire.Publish:
		r.Filename, r.Description = extra[0], extra[1]
	case wire.Delete:
		r.Filename = extra[0]
	case wire.ListContent:
		r.Remote = extra[0]
	case wire.Search:
		r.Words = extra[0]
	}
	return r
}
