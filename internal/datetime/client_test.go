package datetime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingServer runs h on 127.0.0.1 and counts the TCP connections opened.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestClientNowKeepsAlive(t *testing.T) {
	srv, conns := countingServer(t, fixedHandler(0))
	c := NewClient(srv.URL + "/")
	if c.URL() != srv.URL+"/" {
		t.Errorf("URL() = %q", c.URL())
	}
	for i := 0; i < 20; i++ {
		got, err := c.Now(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got != Format(fixedTime) {
			t.Fatalf("Now = %q, want %q", got, Format(fixedTime))
		}
	}
	// Sequential calls reuse one connection (the generated client alone
	// would open 20: it sets req.Close and, by default, a new transport).
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential calls opened %d connections, want 1", n)
	}
}

func TestClientRealClock(t *testing.T) {
	srv, _ := countingServer(t, NewHandler())
	before := time.Now().Truncate(time.Second)
	got, err := NewClient(srv.URL).Now(context.Background()) // no trailing slash: still "/"
	if err != nil {
		t.Fatal(err)
	}
	tm, err := time.ParseInLocation("02/01/2006 15:04:05", got, time.Local)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Before(before) || tm.After(time.Now()) {
		t.Errorf("Now = %q, not the local time between %v and now", got, before)
	}
}

func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there now
	_, err = NewClient(url).Now(context.Background())
	want := "web service " + url + " unreachable: connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %q does not wrap ECONNREFUSED", err)
	}
}

// answer returns a handler that always sends status and body.
func answer(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte(body))
	})
}

func TestClientErrors(t *testing.T) {
	fault := string(appendFault(nil, clientFault("unknown operation x")))
	resp := func(result string) string {
		return string(appendResponse(nil, result))
	}
	cases := []struct {
		name string
		h    http.Handler
		want string
	}{
		{"fault with 500", answer(500, fault), "answered a SOAP fault: soap:Client: unknown operation x"},
		{"fault with 200", answer(200, fault), "answered a SOAP fault: soap:Client: unknown operation x"},
		{"spyne's fault", answer(500, `<?xml version='1.0' encoding='UTF-8'?>
<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/"><soap11env:Body><soap11env:Fault><faultcode>soap11env:Client.SchemaValidationError</faultcode><faultstring>bad</faultstring><faultactor></faultactor></soap11env:Fault></soap11env:Body></soap11env:Envelope>`),
			"answered a SOAP fault: soap11env:Client.SchemaValidationError: bad"},
		{"404", answer(404, "not here"), "answered HTTP 404 Not Found"},
		{"HTML", answer(200, "<html><body>hi</body></html>"), "not a datetime response"},
		{"not XML", answer(200, "hello <"), "not XML"},
		{"no result", answer(200, strings.Replace(resp("x"), "<datetimeResult>x</datetimeResult>", "", 1)), "without a datetimeResult"},
		{"bad datetime", answer(200, resp("yesterday")), `answered "yesterday", not a datetime`},
		{"too long datetime", answer(200, resp("30/11/2026 17:20:00.5")), "not a datetime"},
		{"huge answer", answer(200, resp(strings.Repeat("9", 100<<10))), "oversized"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := countingServer(t, c.h)
			_, err := NewClient(srv.URL + "/").Now(context.Background())
			if err == nil || !strings.HasPrefix(err.Error(), "web service "+srv.URL+"/ ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one about %s containing %q", err, srv.URL+"/", c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := NewClient(srv.URL + "/").Now(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not answer in time") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q, want a timeout wrapping context.DeadlineExceeded", err)
	}
}

// TestClientSendsKnownRequest pins what the generated client sends: the
// envelope the handler recognises without parsing, with SOAPAction datetime.
func TestClientSendsGowsdlEnvelope(t *testing.T) {
	var body []byte
	var action string
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		action = r.Header.Get("SOAPAction")
		if _, ok := r.Header["Idempotency-Key"]; ok {
			t.Error("Idempotency-Key sent on the wire")
		}
		fixedHandler(0).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	}))
	if _, err := NewClient(srv.URL + "/").Now(context.Background()); err != nil {
		t.Fatal(err)
	}
	if string(body) != gowsdlEnvelope || action != SOAPAction {
		t.Errorf("the generated client sent SOAPAction %q and\n%s", action, body)
	}
	if err := parseRequest(body); err != nil {
		t.Errorf("parseRequest refuses the generated client's call: %v", err)
	}
}

// TestClientRetriesClosedKeepAlive: a server that closes a kept-alive
// connection just as the next call arrives on it (the race of idle
// timeouts) costs the peer nothing: the call is sent again on a new one.
func TestClientRetriesClosedKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				r := bufio.NewReader(c)
				// Answer one call, then read the next and hang up.
				for i := 0; i < 2; i++ {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if i == 1 {
						return
					}
					body := appendResponse(nil, Format(fixedTime))
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				}
			}()
		}
	}()
	c := NewClient("http://" + ln.Addr().String() + "/")
	for i := 0; i < 3; i++ {
		if _, err := c.Now(context.Background()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d connections for 3 calls, want 3 (each reused once, then retried)", n)
	}
}
