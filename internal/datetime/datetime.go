// Package datetime is the SOAP web service of PROTOCOL.md §5, both sides:
//
//   - server side: NewHandler (GET /?wsdl, POST / SOAP 1.1 envelopes) and
//     Serve, which runs it with timeouts, size limits and graceful shutdown;
//   - peer side: Client, a small wrapper over the code gowsdl generates from
//     wsdl/datetime.wsdl (package soapgen), with one keep-alive HTTP client,
//     a short timeout and errors a person can read.
//
// The messages are those spyne produces for a service class DateTimeService
// with a method datetime, so zeep and the original Python programs interoperate.
package datetime

import (
	"time"

	"p2p/internal/wire"
)

// Names of the service, as in wsdl/datetime.wsdl.
const (
	// Namespace is the target namespace of the service's elements.
	Namespace = "http://tests.python-zeep.org/"
	// Operation is the one operation's name (and its input element's).
	Operation = "datetime"
	// SOAPAction is the soapAction of the operation.
	SOAPAction = "datetime"
	// EnvelopeNS is the SOAP 1.1 envelope namespace.
	EnvelopeNS = "http://schemas.xmlsoap.org/soap/envelope/"
)

// Format returns t as the service sends it: "dd/mm/yyyy hh:mm:ss", 24-hour,
// zero-padded (wire.DateTimeLayout), in t's own location.
func Format(t time.Time) string { return t.Format(wire.DateTimeLayout) }

// Valid reports whether s is a datetime in the service's format, so that it
// fits the 20-byte wire field.
func Valid(s string) bool {
	if len(s) != len(wire.DateTimeLayout) {
		return false
	}
	_, err := time.Parse(wire.DateTimeLayout, s)
	return err == nil
}
