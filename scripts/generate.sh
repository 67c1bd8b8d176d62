#!/usr/bin/env bash
# make generate: regenerate the SOAP client code from wsdl/datetime.wsdl with
# gowsdl v0.5.0 (pinned as a tool in go.mod). Writes <outdir>/soapgen/datetime.go,
# outdir defaulting to internal/datetime (the committed copy). The test
# internal/datetime TestGeneratedCodeIsUpToDate runs this script into a temp
# folder and compares byte for byte, so keep the flags here and only here.
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=${1:-internal/datetime}
mkdir -p "$outdir/soapgen"
# gowsdl logs to stdout; keep it quiet unless it fails.
if ! log=$(go tool gowsdl -p soapgen -d "$outdir" -o datetime.go wsdl/datetime.wsdl 2>&1); then
  echo "$log" >&2
  echo "generate: go tool gowsdl failed" >&2
  exit 1
fi
# gowsdl formats with go/format already; gofmt again so the file is exactly
# what `gofmt -l` accepts whatever gowsdl's version did.
gofmt -w "$outdir/soapgen/datetime.go"
# gowsdl creates the folder with mode 0744; make it a normal folder.
chmod 0755 "$outdir/soapgen"
echo "generate: wrote $outdir/soapgen/datetime.go"
