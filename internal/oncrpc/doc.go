// Package oncrpc is ONC RPC version 2 (RFC 5531) over TCP, as rpcgen and
// libtirpc speak it:
//
//   - record marking (RecordReader): records of one or more
//     fragments, bounded by a maximum record size, with buffers that grow
//     only as bytes arrive;
//   - call and reply messages (DecodeCall, AppendCall, DecodeReply and the
//     Append*Reply functions), AUTH_NONE and AUTH_SYS credentials, with the
//     RFC's 400-byte cap on an opaque_auth body;
//   - a Server that dispatches (program, version, procedure) to Handlers,
//     answers PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS,
//     SYSTEM_ERR, RPC_MISMATCH and AUTH_ERROR, serves many calls per
//     connection and many connections at once, under limits (record size,
//     idle and I/O timeouts; the connection caps and the first-bytes
//     deadline are package listen's, as for every server of the project);
//   - a Client (Call with a deadline, CallMany to pipeline calls);
//   - a portmapper version 2 client (RFC 1833): GetPort, Set, Unset.
//
// Arguments and results are opaque XDR bytes here; the program packages
// encode them (rpclog uses github.com/davecgh/go-xdr/xdr2). Nothing in
// this package panics on bad input or allocates on a peer's say-so beyond
// the configured limits.
package oncrpc
