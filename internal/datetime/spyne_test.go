package datetime

import (
	"bytes"
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
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken meanwhile
		port := testenv.FreePort(tb)
		var out bytes.Buffer
		cmd := exec.Command(testenv.SystemPython, script, strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		if waitAnswer(url+"?wsdl", exited, 60*time.Second) {
			tb.Cleanup(func() { cmd.Process.Kill(); <-exited })
			return url
		}
		cmd.Process.Kill()
		<-exited
		lastOut = out.String()
	}
	tb.Fatalf("the spyne server did not start; its output:\n%s", lastOut)
	return ""
}

// waitAnswer polls url until it answers 200, the process exits or the
// time is up.
func waitAnswer(url string, exited <-chan struct{}, limit time.Duration) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}
