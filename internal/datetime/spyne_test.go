package datetime

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"p2p/internal/testenv"
)

// spyneServer is the original ws-server.py as the report describes it:
// spyne, a service class DateTimeService with a method datetime, SOAP 1.1
// in and out, on wsgiref. Request logging is off and the listen backlog
// larger, so benchmarks measure the service, not the terminal or dropped
// connections.
const spyneServer = `
import sys, time
from wsgiref.simple_server import make_server, WSGIRequestHandler, WSGIServer
from spyne import Application, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

class DateTimeService(ServiceBase):
    @rpc(_returns=Unicode)
    def datetime(ctx):
        return time.strftime("%d/%m/%Y %H:%M:%S")

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

class Server(WSGIServer):
    # wsgiref's listen backlog of 5 drops connections from 16 concurrent
    # clients (they retry after 1 s, 3 s...), which would time the
    # benchmark's clients out rather than measure spyne.
    request_queue_size = 128

application = Application([DateTimeService], tns="http://tests.python-zeep.org/",
                          in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
server = make_server("127.0.0.1", int(sys.argv[1]), WsgiApplication(application),
                     server_class=Server, handler_class=Quiet)
server.serve_forever()
`

// startSpyne runs spyneServer on a free 127.0.0.1 port and returns its URL
// ("http://127.0.0.1:<port>/") once it answers GET ?wsdl. The server is
// stopped when tb ends.
func startSpyne(tb testing.TB) string {
	tb.Helper()
	testenv.RequirePythonModules(tb, "spyne", "lxml")
	script := filepath.Join(tb.TempDir(), "ws-server.py")
	if err := os.WriteFile(script, []byte(spyneServer), 0o644); err != nil {
		tb.Fatal(err)
	}
	var last *testenv.Proc
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken meanwhile
		port := testenv.FreePort(tb)
		p := testenv.Start(tb, exec.Command(testenv.SystemPython, script, strconv.Itoa(port)))
		url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		c := &http.Client{Timeout: 2 * time.Second}
		answers := func() bool {
			resp, err := c.Get(url + "?wsdl")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
		testenv.Poll(60*time.Second, func() bool { return p.Exited() || answers() })
		if !p.Exited() && answers() {
			return url
		}
		p.Kill()
		last = p
	}
	tb.Fatalf("the spyne server did not start: %s", last)
	return ""
}
