package main

import (
	"fmt"
	"strings"
	"testing"

	"p2p/internal/rpclog"
)

// TestHelpAndBadFlags: -h prints the usage line and exits 0; a bad flag
// prints it and exits 2. Neither starts anything.
func TestHelpAndBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0}, {[]string{"-help"}, 0}, {[]string{"-x"}, 2}, {[]string{"-p", "80"}, 2},
	} {
		var stdout, stderr strings.Builder
		code := run(c.args, &stdout, &stderr)
		if code != c.code || stdout.Len() != 0 || stderr.String() != usage+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and the usage line", c.args, code, stdout.String(), stderr.String(), c.code)
		}
	}
}

func TestLogConfig(t *testing.T) {
	for _, tc := range []struct {
		host, port string
		want       rpclog.SenderConfig
		bad        bool
	}{
		{"", "", rpclog.SenderConfig{Host: "127.0.0.1"}, false},
		{"10.0.0.7", "", rpclog.SenderConfig{Host: "10.0.0.7"}, false},
		{"", "9001", rpclog.SenderConfig{Host: "127.0.0.1", Port: 9001}, false},
		{"", "70000", rpclog.SenderConfig{}, true},
		{"", "0", rpclog.SenderConfig{}, true},
		{"", "abc", rpclog.SenderConfig{}, true},
	} {
		t.Run(fmt.Sprintf("%q %q", tc.host, tc.port), func(t *testing.T) {
			env := map[string]string{"LOG_RPC_IP": tc.host, "LOG_RPC_PORT": tc.port}
			got, err := logConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tc.bad {
				if err == nil || !strings.Contains(err.Error(), "LOG_RPC_PORT") {
					t.Fatalf("err = %v, want one naming LOG_RPC_PORT", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestBadLogPort: a LOG_RPC_PORT that is not a port stops the server at
// once, with a message, exit 2.
func TestBadLogPort(t *testing.T) {
	t.Setenv("LOG_RPC_PORT", "x")
	var stdout, stderr strings.Builder
	if code := run([]string{"-p", "2000", "-d", t.TempDir()}, &stdout, &stderr); code != 2 ||
		stderr.String() != "server: LOG_RPC_PORT: port \"x\" is not in 1..65535\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
