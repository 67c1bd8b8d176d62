package datetime

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"p2p/internal/testenv"
)

// zeepDescribe loads each service's WSDL with python3-zeep, as the original
// client did, and prints what zeep makes of it as JSON: names, soapAction,
// the request it builds, the result of a datetime call and the fault it
// raises for an unknown operation.
const zeepDescribe = `
import json, sys
import zeep
from lxml import etree
from zeep.exceptions import Fault

def describe(url):
    c = zeep.Client(url + "?wsdl")
    svc = list(c.wsdl.services.values())[0]
    port = list(svc.ports.values())[0]
    op = port.binding._operations["datetime"]
    out = {
        "service": svc.name, "port": port.name,
        "address": port.binding_options["address"],
        "soapaction": op.soapaction, "style": op.style,
        "input": str(op.input.body.qname), "output": str(op.output.body.qname),
        "outputChildren": [str(el.qname) for _, el in op.output.body.type.elements],
        "request": etree.tostring(c.create_message(c.service, "datetime")).decode(),
        "result": c.service.datetime(),
    }
    bad = etree.fromstring(b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><t:nope xmlns:t="http://tests.python-zeep.org/"/></e:Body></e:Envelope>')
    resp = c.transport.post_xml(out["address"], bad, {"SOAPAction": '"datetime"', "Content-Type": "text/xml; charset=utf-8"})
    try:
        port.binding.process_reply(c, op, resp)
    except Fault as f:
        out["faultCode"], out["faultMessage"] = f.code, f.message
    return out

print(json.dumps([describe(u) for u in sys.argv[1:]]))
`

type zeepView struct {
	Service, Port, Address, SOAPAction, Style string
	Input, Output                             string
	OutputChildren                            []string
	Request, Result                           string
	FaultCode, FaultMessage                   string
}

func runZeep(t *testing.T, urls ...string) []zeepView {
	t.Helper()
	script := filepath.Join(t.TempDir(), "describe.py")
	if err := os.WriteFile(script, []byte(zeepDescribe), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.SystemPython, append([]string{script}, urls...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zeep: %v\n%s", err, stderr.String())
	}
	var views []zeepView
	if err := json.Unmarshal(out, &views); err != nil || len(views) != len(urls) {
		t.Fatalf("zeep printed %q: %v", out, err)
	}
	return views
}

// TestZeepCallsOurService: python3-zeep loads our WSDL and calls datetime,
// as the original client did, and reads our Fault.
func TestZeepCallsOurService(t *testing.T) {
	testenv.RequirePythonModules(t, "zeep", "lxml")
	srv := httptest.NewServer(NewHandler())
	defer srv.Close()
	v := runZeep(t, srv.URL+"/")[0]
	want := zeepView{
		Service: "DateTimeService", Port: "DateTimeService", Address: srv.URL + "/",
		SOAPAction: SOAPAction, Style: "document",
		Input:          "{" + Namespace + "}datetime",
		Output:         "{" + Namespace + "}datetimeResponse",
		OutputChildren: []string{"{" + Namespace + "}datetimeResult"},
		Request:        zeepEnvelope,
		Result:         v.Result,
		FaultCode:      FaultClient,
		FaultMessage:   "unknown operation {" + Namespace + "}nope: this service has only {" + Namespace + "}datetime",
	}
	if !Valid(v.Result) {
		t.Errorf("zeep got datetime %q", v.Result)
	}
	if !equalViews(v, want) {
		t.Errorf("zeep sees\n%+v\nwant\n%+v", v, want)
	}
}

// TestSpyneInterop runs the original server (spyne): our generated client
// calls it, and zeep finds the same service in its WSDL and in ours.
func TestSpyneInterop(t *testing.T) {
	testenv.RequirePythonModules(t, "zeep", "spyne", "lxml")
	spyneURL := startSpyne(t)

	t.Run("our client calls spyne", func(t *testing.T) {
		c := NewClient(spyneURL)
		for i := 0; i < 3; i++ {
			got, err := c.Now(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !Valid(got) {
				t.Fatalf("spyne answered %q", got)
			}
		}
	})

	t.Run("zeep sees the same service in both WSDLs", func(t *testing.T) {
		ours := httptest.NewServer(NewHandler())
		defer ours.Close()
		views := runZeep(t, ours.URL+"/", spyneURL)
		o, s := views[0], views[1]
		if !Valid(o.Result) || !Valid(s.Result) {
			t.Errorf("results: ours %q, spyne %q", o.Result, s.Result)
		}
		if s.FaultCode == "" || o.FaultCode == "" {
			t.Errorf("unknown operation: zeep raised no Fault (ours %q, spyne %q)", o.FaultCode, s.FaultCode)
		}
		// Everything on the wire is the same. The port is named as
		// PROTOCOL.md §5 says (spyne names it after its Application);
		// the address, result and fault text differ by nature.
		o.Port, o.Address, o.Result, o.FaultCode, o.FaultMessage = s.Port, s.Address, s.Result, s.FaultCode, s.FaultMessage
		if !equalViews(o, s) {
			t.Errorf("zeep sees our service as\n%+v\nand spyne's as\n%+v", o, s)
		}
	})
}

func equalViews(a, b zeepView) bool {
	return strings.Join(a.OutputChildren, " ") == strings.Join(b.OutputChildren, " ") &&
		a.Service == b.Service && a.Port == b.Port && a.Address == b.Address &&
		a.SOAPAction == b.SOAPAction && a.Style == b.Style && a.Input == b.Input &&
		a.Output == b.Output && a.Request == b.Request && a.Result == b.Result &&
		a.FaultCode == b.FaultCode && a.FaultMessage == b.FaultMessage
}
