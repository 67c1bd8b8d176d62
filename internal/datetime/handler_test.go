package datetime

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"p2p/internal/datetime/soapgen"
	"p2p/wsdl"
)

// zeepEnvelope is the request python3-zeep 4.2 builds for datetime
// (create_message, captured).
const zeepEnvelope = `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:datetime xmlns:ns0="http://tests.python-zeep.org/"/></soap-env:Body></soap-env:Envelope>`

// zeepWireEnvelope is zeep's call as it goes on the wire: post_xml adds
// an XML declaration to what create_message gives.
const zeepWireEnvelope = `<?xml version='1.0' encoding='utf-8'?>` + "\n" + zeepEnvelope

// gowsdlEnvelope is what the generated client sends (gowsdl v0.5.0).
const gowsdlEnvelope = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><datetime xmlns="http://tests.python-zeep.org/"></datetime></soap:Body></soap:Envelope>`

var fixedTime = time.Date(2026, time.November, 30, 7, 5, 9, 0, time.Local)

func fixedHandler(max int64) *Handler {
	return &Handler{MaxBodyBytes: max, now: func() time.Time { return fixedTime }}
}

// post sends body to h with the given SOAPAction header (nil: none).
func post(h http.Handler, body string, action *string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "http://example.org/", strings.NewReader(body))
	req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	if action != nil {
		req.Header.Set("SOAPAction", *action)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func str(s string) *string { return &s }

// declared replaces doc's XML declaration with one naming enc.
func declared(enc, doc string) string {
	_, rest, _ := strings.Cut(doc, "?>")
	return `<?xml version="1.0" encoding="` + enc + `"?>` + rest
}

// utf16Body encodes doc in UTF-16, with a byte order mark if bom.
func utf16Body(order binary.AppendByteOrder, bom bool, doc string) string {
	var b []byte
	if bom {
		b = order.AppendUint16(b, 0xfeff)
	}
	for _, u := range utf16.Encode([]rune(doc)) {
		b = order.AppendUint16(b, u)
	}
	return string(b)
}

func TestFormat(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "02/01/2026 03:04:05"},
		{time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), "31/12/1999 23:59:59"},
		{time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), "30/11/2026 12:00:00"},
		{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), "30/11/2026 00:00:00"},
	}
	for _, c := range cases {
		if got := Format(c.t); got != c.want {
			t.Errorf("Format(%v) = %q, want %q", c.t, got, c.want)
		}
		if !Valid(c.want) {
			t.Errorf("Valid(%q) = false", c.want)
		}
		if len(c.want)+1 != 20 { // the wire field holds it and its NUL
			t.Errorf("%q does not fill the 20-byte field", c.want)
		}
	}
	for _, bad := range []string{"", "2/1/2026 3:04:05", "30/11/2026 24:00:00", "30/11/2026 12:00:00 ", "31/11/2026 12:00:00", "30-11-2026 12:00:00"} {
		if Valid(bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}

// decodeResponse reads a datetime response with the generated type.
func decodeResponse(t *testing.T, body []byte) string {
	t.Helper()
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    struct {
			Resp soapgen.DatetimeResponse
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatalf("response is not a SOAP envelope: %v\n%s", err, body)
	}
	if env.Body.Resp.DatetimeResult == nil {
		t.Fatalf("no datetimeResult in\n%s", body)
	}
	return *env.Body.Resp.DatetimeResult
}

func TestGoodCall(t *testing.T) {
	h := fixedHandler(0)
	want := Format(fixedTime)
	// The exact bytes, qualified as spyne's (tns:datetimeResult).
	wantBody := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<datetimeResponse xmlns="http://tests.python-zeep.org/"><datetimeResult>` + want +
		`</datetimeResult></datetimeResponse></soap:Body></soap:Envelope>`
	withHeader := `<?xml version="1.0"?>
<!-- a comment -->
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header><x:Trace xmlns:x="urn:x" s:mustUnderstand="0">1</x:Trace></s:Header>
  <s:Body>
    <d:datetime xmlns:d="http://tests.python-zeep.org/">  </d:datetime>
  </s:Body>
  <x:After xmlns:x="urn:x"/>
</s:Envelope>
`
	cases := []struct {
		name, body string
		action     *string
	}{
		{"zeep, quoted action", zeepEnvelope, str(`"datetime"`)},
		{"gowsdl, bare action", gowsdlEnvelope, str("datetime")},
		{"no action", zeepEnvelope, nil},
		{"empty quoted action", zeepEnvelope, str(`""`)},
		{"header, comments, trailing element", withHeader, str(`"datetime"`)},
		{"byte order mark", "\xef\xbb\xbf" + withHeader, str(" datetime ")},
		// XML 1.0 parsers read UTF-16; lxml (spyne) also Latin-1 and ASCII.
		{"UTF-16LE with BOM", utf16Body(binary.LittleEndian, true, declared("UTF-16", withHeader)), nil},
		{"UTF-16BE without BOM", utf16Body(binary.BigEndian, false, declared("UTF-16", withHeader+"<!-- \u00e9\U0001F600 -->")), nil},
		{"ISO-8859-1", declared("ISO-8859-1", withHeader+"<!-- caf\xe9 -->"), nil},
		{"US-ASCII", declared("us-ascii", withHeader), nil},
		{"utf8 spelt so", declared("utf8", withHeader), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := post(h, c.body, c.action)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Body.String(); got != wantBody {
				t.Errorf("body\n%s\nwant\n%s", got, wantBody)
			}
			if got := decodeResponse(t, rec.Body.Bytes()); got != want {
				t.Errorf("datetimeResult %q, want %q", got, want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	h := fixedHandler(0)
	env := func(body string) string {
		return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	}
	call := `<t:datetime xmlns:t="http://tests.python-zeep.org/"/>`
	cases := []struct {
		name, body string
		action     *string
		code, msg  string
	}{
		{"empty request", "", nil, FaultClient, "empty request"},
		{"not XML", "hello", nil, FaultClient, "outside the Envelope"},
		{"cut inside a tag", zeepEnvelope[:60], nil, FaultClient, "ends inside"},
		{"bad attribute", `<soap:Envelope a=1/>`, nil, FaultClient, "malformed XML"},
		{"cut after a tag", strings.Join(strings.SplitAfter(zeepEnvelope, ">")[:2], ""), nil, FaultClient, "ends inside the Body"},
		{"bad nesting", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body></soap:Envelope>`, nil, FaultClient, "malformed XML"},
		{"not an envelope", `<datetime/>`, nil, FaultClient, "root element is datetime"},
		{"SOAP 1.2", `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>` + call + `</e:Body></e:Envelope>`, nil, FaultClient, "SOAP 1.1"},
		{"unbound prefix", `<soap:Envelope><soap:Body/></soap:Envelope>`, nil, FaultClient, "SOAP 1.1"},
		{"no body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"></soap:Envelope>`, nil, FaultClient, "no Body"},
		{"empty body", env(""), nil, FaultClient, "Body is empty"},
		{"unknown operation", env(`<t:hello xmlns:t="http://tests.python-zeep.org/"/>`), nil, FaultClient, "unknown operation {http://tests.python-zeep.org/}hello"},
		{"wrong namespace", env(`<datetime xmlns="urn:other"/>`), nil, FaultClient, "unknown operation {urn:other}datetime"},
		{"no namespace", env(`<datetime/>`), nil, FaultClient, "unknown operation datetime"},
		{"unknown SOAPAction", env(call), str(`"now"`), FaultClient, `SOAPAction "\"now\""`},
		{"argument", env(`<t:datetime xmlns:t="http://tests.python-zeep.org/"><t:x/></t:datetime>`), nil, FaultClient, "takes no arguments"},
		{"two calls", env(call + call), nil, FaultClient, "more than one element"},
		{"text in body", env("hi" + call), nil, FaultClient, `text "hi"`},
		{"element before body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><x/><soap:Body>` + call + `</soap:Body></soap:Envelope>`, nil, FaultClient, "unexpected element x"},
		{"two bodies", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + call + `</soap:Body><soap:Body>` + call + `</soap:Body></soap:Envelope>`, nil, FaultClient, "Body after the Body"},
		{"header after body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + call + `</soap:Body><soap:Header/></soap:Envelope>`, nil, FaultClient, "Header after the Body"},
		{"after envelope", env(call) + `<x/>`, nil, FaultClient, "after the Envelope"},
		{"DTD", `<!DOCTYPE x [<!ENTITY a "b">]>` + env(call), nil, FaultClient, "DTD"},
		{"mustUnderstand", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><h:Auth xmlns:h="urn:h" soap:mustUnderstand="1"/></soap:Header><soap:Body>` + call + `</soap:Body></soap:Envelope>`, nil, FaultMustUnderstand, "{urn:h}Auth is not understood"},
		{"unknown encoding", `<?xml version="1.0" encoding="EBCDIC-US"?>` + env(call), nil, FaultClient, `encoding "EBCDIC-US" is not supported`},
		{"odd UTF-16", "\xff\xfe<\x00?", nil, FaultClient, "odd number of bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := post(h, c.body, c.action)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500; body %s", rec.Code, rec.Body)
			}
			f := parseFault(rec.Body.Bytes())
			if f == nil {
				t.Fatalf("no SOAP Fault in\n%s", rec.Body)
			}
			if f.Code != c.code || !strings.Contains(f.String, c.msg) {
				t.Errorf("fault %q %q, want %q containing %q", f.Code, f.String, c.code, c.msg)
			}
			if !bytes.HasPrefix(rec.Body.Bytes(), []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>`)) {
				t.Errorf("fault envelope not as expected:\n%s", rec.Body)
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	const limit = 1000
	h := fixedHandler(limit)
	fits := zeepEnvelope + strings.Repeat(" ", limit-len(zeepEnvelope))
	if rec := post(h, fits, nil); rec.Code != http.StatusOK {
		t.Errorf("%d-byte request: status %d, body %s", len(fits), rec.Code, rec.Body)
	}
	rec := post(h, fits+" ", nil)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d-byte request: status %d, want 413", len(fits)+1, rec.Code)
	}
	if f := parseFault(rec.Body.Bytes()); f == nil || f.Code != FaultClient || !strings.Contains(f.String, "larger than 1000 bytes") {
		t.Errorf("fault %+v in\n%s", f, rec.Body)
	}
	// The default limit applies to the zero Handler.
	big := zeepEnvelope + strings.Repeat(" ", DefaultMaxBodyBytes)
	if rec := post(&Handler{}, big, nil); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("zero Handler, %d bytes: status %d, want 413", len(big), rec.Code)
	}
}

func TestWSDL(t *testing.T) {
	srv := httptest.NewServer(NewHandler())
	defer srv.Close()
	get := func(url, host string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, c := range []struct{ path, host, location string }{
		{"/?wsdl", "", srv.URL + "/"},
		{"/?WSDL", "ws.example.org:8000", "http://ws.example.org:8000/"},
		{"/?wsdl", "[::1]:8000", "http://[::1]:8000/"},
		{"/?a=1&wsdl", "localhost", "http://localhost/"},
	} {
		resp, body := get(srv.URL+c.path, c.host)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
			t.Fatalf("GET %s: %s %q", c.path, resp.Status, resp.Header.Get("Content-Type"))
		}
		want := strings.Replace(string(wsdl.DateTime), `location="`+wsdl.DefaultLocation+`"`, `location="`+c.location+`"`, 1)
		if body != want {
			t.Errorf("GET %s with Host %q: the WSDL differs from the file with location %s:\n%s", c.path, c.host, c.location, body)
		}
	}
	// The description itself (§5).
	var d struct {
		TNS      string `xml:"targetNamespace,attr"`
		Elements []struct {
			Name string `xml:"name,attr"`
		} `xml:"types>schema>element"`
		Bindings []struct {
			Style struct {
				Style string `xml:"style,attr"`
			} `xml:"http://schemas.xmlsoap.org/wsdl/soap/ binding"`
			Ops []struct {
				Name string `xml:"name,attr"`
				SOAP struct {
					Action string `xml:"soapAction,attr"`
				} `xml:"http://schemas.xmlsoap.org/wsdl/soap/ operation"`
				In struct {
					Use string `xml:"use,attr"`
				} `xml:"input>body"`
			} `xml:"http://schemas.xmlsoap.org/wsdl/ operation"`
		} `xml:"binding"`
		Services []struct {
			Name  string `xml:"name,attr"`
			Ports []struct {
				Name string `xml:"name,attr"`
			} `xml:"port"`
		} `xml:"service"`
	}
	if err := xml.Unmarshal(wsdl.DateTime, &d); err != nil {
		t.Fatal(err)
	}
	if d.TNS != Namespace || len(d.Elements) != 2 || d.Elements[0].Name != "datetime" || d.Elements[1].Name != "datetimeResponse" {
		t.Errorf("schema: %+v", d)
	}
	if len(d.Bindings) != 1 || len(d.Bindings[0].Ops) != 1 || d.Bindings[0].Ops[0].Name != Operation ||
		d.Bindings[0].Ops[0].SOAP.Action != SOAPAction || d.Bindings[0].Ops[0].In.Use != "literal" ||
		d.Bindings[0].Style.Style != "document" {
		t.Errorf("binding: %+v", d.Bindings)
	}
	if len(d.Services) != 1 || d.Services[0].Name != "DateTimeService" || len(d.Services[0].Ports) != 1 || d.Services[0].Ports[0].Name != "DateTimeService" {
		t.Errorf("service: %+v", d.Services)
	}
}

func TestMethods(t *testing.T) {
	h := NewHandler()
	for _, c := range []struct{ method, target string }{
		{http.MethodGet, "/"},
		{http.MethodPut, "/"},
		{http.MethodDelete, "/?wsdl"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
			t.Errorf("%s %s: status %d, Allow %q", c.method, c.target, rec.Code, rec.Header().Get("Allow"))
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/?wsdl", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("HEAD /?wsdl: %d", rec.Code)
	}
}

func TestWSDLHostFallback(t *testing.T) {
	// A Host that cannot go into the WSDL as it is falls back to the address
	// the request came in on (here none is known: "localhost").
	req := httptest.NewRequest(http.MethodGet, "/?wsdl", nil)
	req.Host = `a"b<c`
	rec := httptest.NewRecorder()
	NewHandler().ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `location="http://localhost/"`) {
		t.Errorf("WSDL for a bad Host:\n%s", rec.Body)
	}
}
