// Package peer is the peer-to-peer half of the client (PROTOCOL.md §3): the
// GET_FILE listener a connected client runs (Server, serving the names of
// its Catalog) and the downloader (Download) that fetches a file from
// another peer, with the sized transfer GET_FILE_SIZED first and plain
// GET_FILE as the fallback for original peers.
//
// Both sides move file bytes without copying them through user space where
// Go can: the listener's io.Copy from *os.File to *net.TCPConn uses
// sendfile, and the downloader's from *net.TCPConn to *os.File uses splice.
// They do so in chunks so that every chunk gets a fresh network deadline.
package peer

import (
	"time"

	"p2p/internal/listen"
)

// Defaults of the timeouts of Server and Download. A chunk must move within
// IdleTimeout, so a stalled peer is given up on, while a slow but moving
// transfer of any size goes on.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultIdleTimeout    = 30 * time.Second
	DefaultDialTimeout    = 10 * time.Second
)

// Defaults of the Server's connection caps (package listen applies them).
// A peer serves a few downloads at once, and a machine or a NAT holds
// only a few downloaders: these are far above that, and far below a
// desktop's 1,024 open files, which an abuser's idle connections would
// otherwise fill (TestIdleFloodFromOneAddress).
const (
	DefaultMaxConns     = 256
	DefaultMaxPerSource = 16
	// DefaultFirstByteTimeout: a downloader sends its request as soon as
	// it has connected (listen's default, which it applies).
	DefaultFirstByteTimeout = listen.DefaultFirstByteTimeout
)

// Bounds of the number of bytes moved between two deadline renewals (and
// two progress reports); see copyChunks.
const (
	minChunk = 64 << 10
	maxChunk = 64 << 20
)
