package shell

import (
	"context"
	"io"

	"p2p/internal/show"
	"p2p/internal/wire"
)

// search runs SEARCH <words, the rest of the line> (§2, §7): the words go
// as typed in the words field (the server finds the words in it), and each
// match is printed as "\t<username> <filename> "<description>"". The
// reply is read into a spool as LIST_CONTENT's is, so a server announcing
// any number of records is read in bounded memory; the matches also feed
// the completion of GET_FILE's remote file names.
func (s *Shell) search(ctx context.Context, args []string) {
	var sp *spool
	defer func() {
		if sp != nil {
			sp.close()
		}
	}()
	st, ok := s.call(ctx, wire.Request{Op: wire.Search, Username: s.User(), Words: args[0]}, func(r io.Reader) (err error) {
		sp, err = s.spoolList(r, 3, wire.SearchRecordSize, func(r io.Reader, buf []byte) ([]string, error) {
			rec, err := wire.ReadSearchRecord(r, buf)
			return []string{rec.Username, rec.Filename, rec.Description}, err
		})
		return err
	})
	if !ok || st != wire.StatusOK {
		return
	}
	out := s.out.lines()
	found := s.names.newFileBatch()
	err := sp.each(func(v []string) error {
		out.line("\t" + show.Value(v[0]) + " " + show.Value(v[1]) + " \"" + show.Value(v[2]) + "\"")
		found.add(v[0], v[1])
		return nil
	})
	out.flush()
	if err != nil {
		s.out.errline("SEARCH: " + err.Error())
		return
	}
	s.names.addFiles(found)
}
