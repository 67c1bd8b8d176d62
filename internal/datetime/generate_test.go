package datetime

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"p2p/internal/testenv"
)

// TestGeneratedCodeIsUpToDate regenerates the client code from
// wsdl/datetime.wsdl with scripts/generate.sh (go tool gowsdl, the version
// pinned in go.mod) into a temporary folder and compares it byte for byte
// with the committed soapgen/datetime.go. Run `make generate` to fix it.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go is not in PATH: this test runs `go tool gowsdl`")
	}
	root := testenv.RepoRoot()
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "generate.sh"), out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/generate.sh %s: %v\n%s", out, err, b)
	}
	got, err := os.ReadFile(filepath.Join(out, "soapgen", "datetime.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(root, "internal", "datetime", "soapgen", "datetime.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Errorf("internal/datetime/soapgen/datetime.go is not what gowsdl generates from wsdl/datetime.wsdl; run `make generate` and commit.\n--- regenerated:\n%s", got)
	}
}
