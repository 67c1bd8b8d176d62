package datetime

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"p2p/internal/datetime/soapgen"
)

// ClientTimeout bounds one call of Client.Now, connection included: the peer
// asks before every command, so a dead service must fail fast.
const ClientTimeout = 3 * time.Second

// maxResponseBytes bounds what Client reads of an answer (a datetime
// response is about 300 bytes).
const maxResponseBytes = 64 << 10

// sharedHTTP is the one HTTP client every Client uses: its connections are
// kept alive between calls.
var sharedHTTP = &http.Client{
	Timeout: ClientTimeout,
	Transport: &http.Transport{
		// No proxy: the service is on the peer's own network, and a proxy
		// from the environment would only add a hop that can fail.
		DialContext: (&net.Dialer{
			Timeout:   ClientTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second, // below ws-server's -idle-timeout (60s)
		ResponseHeaderTimeout: ClientTimeout,
	},
}

// Client calls the datetime operation of one web service through the code
// gowsdl generated from wsdl/datetime.wsdl. It is safe for concurrent use.
type Client struct {
	url string
	svc soapgen.DateTimeService
}

// NewClient returns a client of the service at url, e.g.
// "http://localhost:8000/". All clients share one keep-alive HTTP client.
func NewClient(url string) *Client {
	sc := soap.NewClient(url, soap.WithHTTPClient(keepAlive{sharedHTTP}))
	return &Client{url: url, svc: soapgen.NewDateTimeService(sc)}
}

// URL returns the service address the client calls.
func (c *Client) URL() string { return c.url }

// Now asks the service for its datetime, "dd/mm/yyyy hh:mm:ss". Errors say
// which service failed and how, e.g. "web service http://localhost:8000/
// unreachable: connection refused".
func (c *Client) Now(ctx context.Context) (string, error) {
	resp, err := c.svc.DatetimeContext(ctx, &soapgen.Datetime{})
	if err != nil {
		return "", c.explain(err)
	}
	if resp.DatetimeResult == nil {
		return "", fmt.Errorf("web service %s answered without a datetimeResult", c.url)
	}
	s := *resp.DatetimeResult
	if !Valid(s) {
		return "", fmt.Errorf("web service %s answered %q, not a datetime dd/mm/yyyy hh:mm:ss", c.url, abbreviate(s))
	}
	return s, nil
}

// callError is a failed call: a one-line message for a person, and the
// cause for errors.Is/As.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// explain turns what the generated client returns into one readable error
// that still wraps the cause (errors.Is(err, context.DeadlineExceeded)...).
func (c *Client) explain(err error) error {
	fail := func(format string, args ...any) error {
		return &callError{msg: "web service " + c.url + " " + fmt.Sprintf(format, args...), err: err}
	}
	faulted := func(f *Fault) error {
		return &callError{msg: "web service " + c.url + " answered a SOAP fault: " + f.Error(), err: f}
	}
	var httpErr *soap.HTTPError
	var fault *soap.SOAPFault
	var urlErr *url.Error
	var syn *xml.SyntaxError
	switch {
	case errors.As(err, &httpErr):
		// gowsdl v0.5.0 does not parse a Fault sent with HTTP 500: do it here.
		if f := parseFault(httpErr.ResponseBody); f != nil {
			return faulted(f)
		}
		return fail("answered HTTP %d %s", httpErr.StatusCode, http.StatusText(httpErr.StatusCode))
	case errors.As(err, &fault):
		return faulted(&Fault{Code: fault.Code, String: fault.String})
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return fail("did not answer in time")
	case errors.Is(err, context.Canceled):
		return fail("call canceled")
	case errors.Is(err, errResponseTooLarge):
		return fail("sent an oversized answer (over %d bytes)", maxResponseBytes)
	case errors.As(err, &urlErr):
		return fail("unreachable: %s", reason(urlErr.Err))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fail("sent an incomplete answer")
	case errors.As(err, &syn):
		return fail("sent an answer that is not XML (line %d: %s)", syn.Line, syn.Msg)
	default:
		return fail("sent an answer that is not a datetime response (%v)", err)
	}
}

// reason is the short cause of a failed HTTP exchange: "connection
// refused", "lookup nohost: no such host", ...
func reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	if errors.Is(err, io.EOF) {
		return "connection closed without an answer"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// parseFault reads a SOAP 1.1 Fault from a response body, or returns nil.
func parseFault(body []byte) *Fault {
	var env struct {
		Body struct {
			Fault *struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Body.Fault == nil {
		return nil
	}
	return &Fault{Code: env.Body.Fault.Code, String: env.Body.Fault.String}
}
