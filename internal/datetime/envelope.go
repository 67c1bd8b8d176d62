package datetime

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"p2p/internal/datetime/soapgen"
)

// Fault is a SOAP 1.1 Fault: what the server answers (HTTP 500) to a request
// it cannot serve, and what Client reports when a server sends one.
type Fault struct {
	Code   string // faultcode, a QName such as "soap:Client"
	String string // faultstring, for a person
}

// Error returns "<code>: <string>".
func (f *Fault) Error() string { return f.Code + ": " + f.String }

// Fault codes of SOAP 1.1 §4.4.1 the server uses, with the "soap" prefix it
// binds to EnvelopeNS.
const (
	FaultClient         = "soap:Client"
	FaultMustUnderstand = "soap:MustUnderstand"
)

func clientFault(format string, args ...any) *Fault {
	return &Fault{Code: FaultClient, String: fmt.Sprintf(format, args...)}
}

// requestName is the operation's input element, read from the generated
// type so that the WSDL stays the one source of the names.
var requestName = xmlNameOf(soapgen.Datetime{})

// xmlNameOf returns the element name in the xml tag of v's XMLName field.
func xmlNameOf(v any) xml.Name {
	f, ok := reflect.TypeOf(v).FieldByName("XMLName")
	if !ok {
		panic("datetime: generated type has no XMLName") // a generation bug, caught by every test
	}
	ns, local, ok := strings.Cut(f.Tag.Get("xml"), " ")
	if !ok {
		return xml.Name{Local: ns}
	}
	return xml.Name{Space: ns, Local: local}
}

// parseRequest reads one SOAP 1.1 envelope and checks that its body is a
// datetime call. Every problem is returned as a *Fault with code soap:Client
// (or soap:MustUnderstand), with a message that names what is wrong.
func parseRequest(body []byte) error {
	body, err := toUTF8(body)
	if err != nil {
		return err
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	root, err := nextElement(d, "the document")
	if err != nil {
		return err
	}
	if root == nil {
		return clientFault("empty request: expected a SOAP Envelope")
	}
	if root.Name.Space != EnvelopeNS || root.Name.Local != "Envelope" {
		if root.Name.Local == "Envelope" {
			return clientFault("Envelope in namespace %q: this service speaks SOAP 1.1 (%s)", root.Name.Space, EnvelopeNS)
		}
		return clientFault("root element is %s, expected a SOAP 1.1 Envelope", showName(root.Name))
	}
	if err := parseEnvelope(d); err != nil {
		return err
	}
	// Nothing but comments and white space may follow the envelope.
	if el, err := nextElement(d, "the end of the document"); err != nil {
		return err
	} else if el != nil {
		return clientFault("element %s after the Envelope", showName(el.Name))
	}
	return nil
}

// parseEnvelope reads the children of Envelope: an optional Header, the
// Body, then (SOAP 1.1 §4.1.1) any further elements, which are skipped.
func parseEnvelope(d *xml.Decoder) error {
	sawHeader, sawBody := false, false
	for {
		tok, err := token(d, "the Envelope")
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if !sawBody {
				return clientFault("the Envelope has no Body")
			}
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return clientFault("text %q inside the Envelope", abbreviate(string(t)))
			}
		case xml.StartElement:
			switch {
			case sawBody && t.Name.Space == EnvelopeNS:
				return clientFault("%s after the Body", t.Name.Local)
			case sawBody:
				if err := skip(d); err != nil {
					return err
				}
			case t.Name.Space == EnvelopeNS && t.Name.Local == "Header" && !sawHeader:
				sawHeader = true
				if err := parseHeader(d); err != nil {
					return err
				}
			case t.Name.Space == EnvelopeNS && t.Name.Local == "Body":
				sawBody = true
				if err := parseBody(d); err != nil {
					return err
				}
			default:
				return clientFault("unexpected element %s in the Envelope, expected Header or Body", showName(t.Name))
			}
		}
	}
}

// parseHeader skips header entries, refusing any marked mustUnderstand="1"
// (the service understands none), as SOAP 1.1 §4.2.3 requires.
func parseHeader(d *xml.Decoder) error {
	for {
		el, err := nextChild(d, "the Header")
		if err != nil || el == nil {
			return err
		}
		for _, a := range el.Attr {
			if a.Name.Space == EnvelopeNS && a.Name.Local == "mustUnderstand" && strings.TrimSpace(a.Value) == "1" {
				return &Fault{Code: FaultMustUnderstand, String: fmt.Sprintf("header %s is not understood", showName(el.Name))}
			}
		}
		if err := skip(d); err != nil {
			return err
		}
	}
}

// parseBody reads the Body: exactly one element, the datetime call, which
// takes no arguments.
func parseBody(d *xml.Decoder) error {
	call, err := nextChild(d, "the Body")
	if err != nil {
		return err
	}
	if call == nil {
		return clientFault("the Body is empty: expected the operation element %s", showName(requestName))
	}
	if call.Name != requestName {
		return clientFault("unknown operation %s: this service has only %s", showName(call.Name), showName(requestName))
	}
	if arg, err := nextChild(d, "the "+Operation+" element"); err != nil {
		return err
	} else if arg != nil {
		return clientFault("operation %s takes no arguments, got element %s", Operation, showName(arg.Name))
	}
	if extra, err := nextChild(d, "the Body"); err != nil {
		return err
	} else if extra != nil {
		return clientFault("more than one element in the Body (%s after %s)", showName(extra.Name), Operation)
	}
	return nil
}

// nextChild returns the next child element of the element being read, or
// nil when that element ends. Text other than white space is refused.
func nextChild(d *xml.Decoder, where string) (*xml.StartElement, error) {
	for {
		tok, err := token(d, where)
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.EndElement:
			return nil, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, clientFault("text %q inside %s", abbreviate(string(t)), where)
			}
		case xml.Directive:
			return nil, clientFault("DTDs and directives are not allowed in a SOAP message")
		}
	}
}

// nextElement returns the next top-level element, or nil at the end of the
// document; only the XML declaration, comments and white space may come
// before it (SOAP forbids DTDs).
func nextElement(d *xml.Decoder, where string) (*xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, syntaxFault(err, where)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, clientFault("text %q outside the Envelope", abbreviate(string(t)))
			}
		case xml.Directive:
			return nil, clientFault("DTDs and directives are not allowed in a SOAP message")
		}
	}
}

// token reads one token inside an element, where the end of input means the
// document was cut short.
func token(d *xml.Decoder, where string) (xml.Token, error) {
	tok, err := d.Token()
	if err == io.EOF {
		return nil, clientFault("the request ends inside %s", where)
	}
	if err != nil {
		return nil, syntaxFault(err, where)
	}
	return tok, nil
}

// skip reads past the element just started, refusing directives in it.
func skip(d *xml.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := token(d, "an element")
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.Directive:
			return clientFault("DTDs and directives are not allowed in a SOAP message")
		}
	}
	return nil
}

func syntaxFault(err error, where string) *Fault {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Msg == "unexpected EOF" {
			return clientFault("the request ends inside %s (line %d)", where, se.Line)
		}
		return clientFault("malformed XML in %s: line %d: %s", where, se.Line, se.Msg)
	}
	return clientFault("cannot read %s: %v", where, err)
}

// showName writes {namespace}local, or local alone when it has no namespace.
func showName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

func abbreviate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
