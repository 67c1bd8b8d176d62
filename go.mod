module p2p

go 1.26.8

tool github.com/hooklift/gowsdl/cmd/gowsdl

require (
	github.com/chzyer/readline v1.5.1
	github.com/davecgh/go-xdr v0.0.0-20161123171359-e6a2ba005892
	github.com/hooklift/gowsdl v0.5.0
	github.com/pires/go-proxyproto v0.15.0
)

require golang.org/x/sys v0.0.0-20220310020820-b874c991c1a5 // indirect
