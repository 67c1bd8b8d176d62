// Package testenv holds the few helpers the project's tests share: the rule
// for interop tests that need Debian packages, and finding the repository.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireEnv is the environment variable that turns an interop test's skip
// into a failure. .ci/run sets it, so CI never passes on a skipped interop.
const RequireEnv = "P2P_REQUIRE_INTEROP"

// Required reports whether interop tests must run (CI).
func Required() bool { return os.Getenv(RequireEnv) != "" }

// Unavailable skips t loudly because something an interop test needs is
// missing, or fails it when RequireEnv is set.
func Unavailable(t testing.TB, what string) {
	t.Helper()
	msg := "INTEROP TEST NOT RUN: " + what + " (run `make deps` as root, or see README: Troubleshooting)"
	if Required() {
		t.Fatal(msg + "; " + RequireEnv + " is set, so this is a failure")
	}
	t.Skip("\n\n*** " + msg + " ***\n")
}

// LookPath returns the path of an executable the test needs, or skips/fails
// the test through Unavailable.
func LookPath(t testing.TB, file string) string {
	t.Helper()
	p, err := exec.LookPath(file)
	if err != nil {
		Unavailable(t, file+" not found in PATH")
	}
	return p
}

// SystemPython is Debian's interpreter, which sees python3-zeep and
// python3-spyne (the python3 first on PATH may be another one).
const SystemPython = "/usr/bin/python3"

// RequirePythonModules checks that SystemPython can import every module, or
// skips/fails the test through Unavailable.
func RequirePythonModules(t testing.TB, modules ...string) {
	t.Helper()
	if _, err := os.Stat(SystemPython); err != nil {
		Unavailable(t, SystemPython+" not found")
	}
	for _, m := range modules {
		if out, err := exec.Command(SystemPython, "-c", "import "+m).CombinedOutput(); err != nil {
			Unavailable(t, "python module "+m+" not importable by "+SystemPython+": "+string(out))
		}
	}
}

// RepoRoot returns the repository's top folder (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
