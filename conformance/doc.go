// Package conformance is an Autobahn-style conformance suite for RFC 6455,
// run by go test. It has no API: everything lives in its tests.
//
// # What it checks
//
// TestConformanceServer drives WebSocket echo servers with a raw client of
// its own: the HTTP upgrade request is written by hand and every frame is
// built and masked byte by byte, so the suite shares no code with the engine
// it checks. TestConformanceClient mirrors it against the engine's client
// (engine.Dial): a raw TCP listener plays the server, answers the handshake
// by hand and sends unmasked frames to a client whose handler echoes every
// message back. Both run a second time over the root package's blocking API:
// the "tachyon" server target is tachyon.Accept behind net/http with a Read
// and Write loop, and the "tachyon" client is tachyon.Dial with the same
// loop.
//
// The cases follow the sections of the Autobahn testsuite:
//
//	1   framing: text and binary messages of every length class, whole and chopped
//	2   pings and pongs
//	3   reserved bits
//	4   reserved opcodes
//	5   fragmentation
//	6   UTF-8 handling, fail-fast included
//	7   the closing handshake and close codes
//	9   performance (timed, not asserted)
//	10  auto-fragmentation
//	H   the opening handshake (RFC 6455 section 4), abuse included
//
// Each case has an ID, a description, the section of RFC 6455 it rests on
// and a result: pass; non-strict (behaviour the RFC allows but does not
// prefer, such as dropping the TCP connection where a close frame was
// expected); fail, with the reason; or skipped (a case the target cannot
// run, such as the slow-request case against a server with no handshake
// timeout). A fail fails the test; non-strict does not. Each case is a
// subtest: go test -run 'TestConformanceServer/http/6.4' picks cases out.
//
// # Targets
//
// The server cases run against the engine's net/http driver (engine.Upgrader
// behind a net/http.Server) and against any server named by the
// environment:
//
//	TACHYON_CONFORMANCE_URL=ws://host:port/path          an echo server to check
//	TACHYON_CONFORMANCE_HANDSHAKE_TIMEOUT=3s             its handshake timeout, if any
//
// A server is an echo server when it sends every text and binary message it
// receives back unchanged. Without a handshake timeout the slow-request case
// is reported as skipped.
//
// # The table
//
// With go test -v, or with TACHYON_CONFORMANCE_TABLE=1, each target's
// results are printed as a table grouped by section, with a summary line per
// section and per target. When TACHYON_CONFORMANCE_TABLE holds a file path
// instead of 1, the tables are also appended to that file: go test hides the
// output of passing packages, and ci/conformance.sh prints the file.
package conformance
