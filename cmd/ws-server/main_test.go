package main

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"p2p/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-x"},
		{"-p"},
		{"-p", "abc"},
		{"-p", "65536"},
		{"-p", "-1"},
		{"extra"},
		{"-max-body-bytes", "0"},
		{"-read-timeout", "soon"},
		{"-max-header-bytes", "4096"},
		{"-max-conns", "0"},
		{"-max-per-source", "0"},
		{"-first-byte-timeout", "0s"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "ws-server: ") || !strings.HasPrefix(lines[1], "usage: ws-server [-p port]") {
			t.Errorf("%q: stderr %q, want an error line and the usage line", args, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q", args, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: ws-server") {
		t.Errorf("-h: status %d, stderr %q", code, stderr.String())
	}
}

// TestServesAndStops runs the built command on a free port, fetches the
// WSDL and stops it with SIGTERM.
func TestServesAndStops(t *testing.T) {
	bin := testenv.Build(t, "ws-server")
	p := testenv.Start(t, exec.Command(bin, "-p", "0", "-read-timeout", "2s"))
	p.WaitFor(30*time.Second, "the start-up line", func() bool { return len(p.Stdout.Lines()) > 0 })
	line := p.Stdout.Lines()[0]
	m := regexp.MustCompile(`^ws-server: listening on \S+ \(WSDL at http://<host>:(\d+)/\?wsdl\)$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("start-up line %q", line)
	}
	url := "http://127.0.0.1:" + m[1] + "/"
	resp, err := http.Get(url + "?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<soap:address location="`+url+`"/>`) {
		t.Errorf("GET ?wsdl: %s\n%s", resp.Status, body)
	}
	if err := p.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("after SIGTERM: %v; stderr: %s", err, p.Stderr.String())
	}
	if rest := strings.TrimPrefix(p.Stdout.String(), line+"\n"); rest != "ws-server: stopped\n" {
		t.Errorf("after SIGTERM, stdout %q", rest)
	}
}
