// Package wsdl embeds datetime.wsdl, the description of the datetime web
// service (PROTOCOL.md §5). It lives beside the file because go:embed cannot
// reach a parent folder.
package wsdl

import _ "embed"

// DateTime is the text of datetime.wsdl. Its soap:address location is
// DefaultLocation; ws-server replaces it with the host each request names.
//
//go:embed datetime.wsdl
var DateTime []byte

// DefaultLocation is the soap:address location written in datetime.wsdl.
const DefaultLocation = "http://localhost:8000/"
