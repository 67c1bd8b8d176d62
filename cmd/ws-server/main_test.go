package main

import (
	"bufio"
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
	cmd := exec.Command(bin, "-p", "0", "-read-timeout", "2s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewReader(stdout)
	first := make(chan string, 1)
	go func() { l, _ := lines.ReadString('\n'); first <- l }()
	var line string
	select {
	case line = <-first:
	case <-time.After(30 * time.Second):
		t.Fatalf("no start-up line; stderr: %s", stderr.String())
	}
	m := regexp.MustCompile(`^ws-server: listening on \S+ \(WSDL at http://<host>:(\d+)/\?wsdl\)\n$`).FindStringSubmatch(line)
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
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(lines)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
	if string(rest) != "ws-server: stopped\n" {
		t.Errorf("after SIGTERM, stdout %q", rest)
	}
}
