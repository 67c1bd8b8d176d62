package shell

import (
	"context"

	"p2p/internal/wire"
)

// search runs SEARCH <words, the rest of the line> (§2, §7): the words go
// as typed in the words field (the server finds the words in it), and each
// match is printed as "\t<username> <filename> "<description>"". The
// reply is read into a spool as LIST_CONTENT's is, so a server announcing
// any number of records is read in bounded memory; the matches also feed
// the completion of GET_FILE's remote file names.
func (s *Shell) search(ctx context.Context, args []string) {
	found := s.names.newFileBatch()
	req := wire.Request{Op: wire.Search, Username: s.User(), Words: args[0]}
	if s.callList(ctx, req, searchList, func(v []string, out *lineBatch) {
		out.record(true, v...)
		found.add(v[0], v[1])
	}) {
		s.names.addFiles(found)
	}
}
