// Package soapgen is the client code gowsdl v0.5.0 generates from
// wsdl/datetime.wsdl (scripts/generate.sh writes datetime.go; do not edit
// it, regenerate with `make generate`). Package datetime wraps it: use
// datetime.NewClient, which fixes the generated client's lack of keep-alive
// and reads the SOAP Faults it returns as raw HTTP errors.
package soapgen
