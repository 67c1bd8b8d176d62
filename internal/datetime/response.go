package datetime

import (
	"bytes"
	"encoding/xml"

	"p2p/internal/datetime/soapgen"
)

const (
	xmlDecl       = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	envelopeStart = `<soap:Envelope xmlns:soap="` + EnvelopeNS + `"><soap:Body>`
	envelopeEnd   = `</soap:Body></soap:Envelope>`
)

// The datetime response is built once from the generated type, around a
// placeholder, so each call only appends the time: respHead + time + respTail.
var respHead, respTail = responseTemplate()

func responseTemplate() (head, tail []byte) {
	const mark = "DATETIME-PLACEHOLDER"
	v := mark
	body, err := xml.Marshal(soapgen.DatetimeResponse{DatetimeResult: &v})
	if err != nil {
		panic("datetime: cannot marshal the generated response type: " + err.Error())
	}
	// body: <datetimeResponse xmlns="http://tests.python-zeep.org/"><datetimeResult>mark</datetimeResult></datetimeResponse>
	h, t, ok := bytes.Cut(body, []byte(mark))
	if !ok {
		panic("datetime: placeholder missing from the marshalled response")
	}
	head = append([]byte(xmlDecl+envelopeStart), h...)
	tail = append(t, envelopeEnd...)
	return head, tail
}

// appendResponse appends the whole SOAP response for the datetime s (which
// never needs escaping: digits, '/', ':' and a space).
func appendResponse(dst []byte, s string) []byte {
	dst = append(dst, respHead...)
	dst = append(dst, s...)
	return append(dst, respTail...)
}

// appendFault appends a SOAP 1.1 Fault envelope for f.
func appendFault(dst []byte, f *Fault) []byte {
	var b bytes.Buffer
	b.WriteString(xmlDecl + envelopeStart + "<soap:Fault><faultcode>")
	xml.EscapeText(&b, []byte(f.Code))
	b.WriteString("</faultcode><faultstring>")
	xml.EscapeText(&b, []byte(f.String))
	b.WriteString("</faultstring></soap:Fault>" + envelopeEnd)
	return append(dst, b.Bytes()...)
}
