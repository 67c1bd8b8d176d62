package datetime

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"p2p/wsdl"
)

// DefaultMaxBodyBytes is the largest SOAP request the handler reads by
// default. A datetime call is about 250 bytes; 64 KiB leaves room for
// verbose clients and headers while bounding what a stranger can make the
// server hold.
const DefaultMaxBodyBytes = 64 << 10

// Handler serves the datetime web service on every path (as spyne does):
//
//	GET  /?wsdl   the WSDL, its soap:address naming the request's host
//	POST /        a SOAP 1.1 envelope calling datetime
//
// A malformed envelope or unknown operation gets a SOAP Fault, HTTP 500,
// faultcode soap:Client; a request larger than MaxBodyBytes gets the same
// fault with HTTP 413. The zero Handler is ready to use.
type Handler struct {
	// MaxBodyBytes bounds a request's body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	now func() time.Time // the clock; nil means time.Now (tests fix it)
}

// NewHandler returns the whole service with default limits.
func NewHandler() http.Handler { return &Handler{} }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.serveSOAP(w, r)
	case http.MethodGet, http.MethodHead:
		if !wantsWSDL(r) {
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "this is a SOAP service: GET /?wsdl for its description, POST SOAP 1.1 envelopes to /", http.StatusMethodNotAllowed)
			return
		}
		serveWSDL(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method "+r.Method+" not allowed: GET /?wsdl or POST a SOAP envelope", http.StatusMethodNotAllowed)
	}
}

// wantsWSDL reports whether the query asks for the WSDL: "?wsdl", in any case.
func wantsWSDL(r *http.Request) bool {
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if strings.EqualFold(k, "wsdl") {
			return true
		}
	}
	return false
}

func (h *Handler) serveSOAP(w http.ResponseWriter, r *http.Request) {
	if f := checkSOAPAction(r.Header); f != nil {
		writeFault(w, http.StatusInternalServerError, f)
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 2*DefaultMaxBodyBytes { // do not keep a huge buffer alive
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeFault(w, http.StatusRequestEntityTooLarge,
				clientFault("request body larger than %d bytes", limit))
			return
		}
		// The client went away or stalled past the read timeout; it will
		// not read an answer, but say why in case it does.
		writeFault(w, http.StatusBadRequest, clientFault("cannot read the request body: %v", err))
		return
	}
	if err := parseRequest(buf.Bytes()); err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			f = clientFault("%v", err)
		}
		writeFault(w, http.StatusInternalServerError, f)
		return
	}
	now := time.Now
	if h.now != nil {
		now = h.now
	}
	buf.Reset()
	buf.Write(appendResponse(buf.AvailableBuffer(), Format(now())))
	writeXML(w, http.StatusOK, buf.Bytes())
}

// checkSOAPAction accepts a missing or empty SOAPAction (the body names the
// operation, as spyne dispatches) and "datetime", quoted or not, since
// clients differ (zeep quotes it, gowsdl does not). Any other action names
// an operation this service does not have.
func checkSOAPAction(hdr http.Header) *Fault {
	vals, ok := hdr["Soapaction"]
	if !ok || len(vals) == 0 {
		return nil
	}
	a := strings.TrimSpace(vals[0])
	if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
		a = a[1 : len(a)-1]
	}
	if a == "" || a == SOAPAction {
		return nil
	}
	return clientFault("unknown operation: SOAPAction %q (this service has only %q)", vals[0], SOAPAction)
}

func writeFault(w http.ResponseWriter, status int, f *Fault) {
	writeXML(w, status, appendFault(nil, f))
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	hdr["Content-Type"] = []string{"text/xml; charset=utf-8"}
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body) // an error here means the client left; nothing to do
}

// The embedded WSDL split around its soap:address location, so serving it
// is two copies and the escaped host.
var wsdlHead, wsdlTail = splitWSDL()

func splitWSDL() (head, tail []byte) {
	attr := []byte(`location="` + wsdl.DefaultLocation + `"`)
	if bytes.Count(wsdl.DateTime, attr) != 1 {
		panic("datetime: wsdl/datetime.wsdl must hold exactly one " + string(attr))
	}
	h, t, _ := bytes.Cut(wsdl.DateTime, attr)
	return append(h, `location="`...), append([]byte(`"`), t...)
}

// serveWSDL writes the WSDL with soap:address http://<host>/, host being
// what the request was sent to (its Host header, else the local address).
func serveWSDL(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if host == "" || !validHost(host) {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		} else {
			host = "localhost"
		}
	}
	var b bytes.Buffer
	b.Write(wsdlHead)
	b.WriteString("http://" + host + "/") // validHost: nothing to escape
	b.Write(wsdlTail)
	writeXML(w, http.StatusOK, b.Bytes())
}

// validHost reports whether h looks like host[:port] (name, IPv4 or
// [IPv6]) and so can go into an XML attribute and a URL as it is.
func validHost(h string) bool {
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(".-_:[]%", c):
		default:
			return false
		}
	}
	return len(h) <= 255
}
