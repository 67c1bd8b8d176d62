package datetime

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"slices"
	"testing"
)

// FuzzHandler feeds arbitrary request bodies to the handler and checks that
// it never panics and always answers one of: 200 with a datetime response
// exactly when parseRequest accepts the body, 500 with the Fault that
// parseRequest returned, or 413 past the size limit. An accepted body must
// also be, for encoding/xml's plain Decode, an Envelope whose Body holds
// the datetime element. The seed corpus is in testdata/fuzz/FuzzHandler
// (run by every `go test`); `go test -fuzz FuzzHandler` explores further.
func FuzzHandler(f *testing.F) {
	clients := []string{zeepEnvelope, zeepWireEnvelope, gowsdlEnvelope}
	for _, k := range clients {
		f.Add([]byte(k))
	}
	const limit = 4096
	h := fixedHandler(limit)
	want := Format(fixedTime)
	f.Fuzz(func(t *testing.T, body []byte) {
		perr := parseRequest(body)
		var pf *Fault
		if perr != nil && !errors.As(perr, &pf) {
			t.Fatalf("parseRequest returned a non-Fault error %T: %v", perr, perr)
		}
		if pf != nil && pf.Code != FaultClient && pf.Code != FaultMustUnderstand {
			t.Fatalf("fault code %q", pf.Code)
		}
		if slices.Contains(clients, string(body)) && perr != nil {
			t.Fatalf("a client's call is refused by parseRequest: %v", perr)
		}
		if perr == nil {
			checkAccepted(t, body)
		}

		rec := post(h, string(body), nil)
		switch {
		case len(body) > limit:
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d-byte body: status %d, want 413", len(body), rec.Code)
			}
		case perr == nil:
			if rec.Code != http.StatusOK {
				t.Fatalf("accepted body: status %d\n%s", rec.Code, rec.Body)
			}
			if got := decodeResponse(t, rec.Body.Bytes()); got != want {
				t.Fatalf("datetimeResult %q", got)
			}
		default:
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("refused body: status %d", rec.Code)
			}
			got := parseFault(rec.Body.Bytes())
			if got == nil || got.Code != pf.Code {
				t.Fatalf("fault sent %+v, parseRequest gave %+v\n%s", got, pf, rec.Body)
			}
		}
	})
}

// checkAccepted cross-checks an accepted body with encoding/xml's Decode.
func checkAccepted(t *testing.T, body []byte) {
	t.Helper()
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    struct {
			Call []struct {
				XMLName xml.Name
			} `xml:",any"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	// The same reading of encodings as the handler's (UTF-16, Latin-1...).
	body, err := toUTF8(body)
	if err != nil {
		t.Fatalf("parseRequest accepts what toUTF8 refuses (%v):\n%q", err, body)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	if err := d.Decode(&env); err != nil {
		t.Fatalf("parseRequest accepts what Decode refuses (%v):\n%q", err, body)
	}
	if len(env.Body.Call) != 1 || env.Body.Call[0].XMLName != requestName {
		t.Fatalf("parseRequest accepts a Body holding %+v:\n%q", env.Body.Call, body)
	}
}
