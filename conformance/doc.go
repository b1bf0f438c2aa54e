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
//	12  permessage-deflate (RFC 7692): compressed messages of 16 bytes to
//	    256 KiB, many of each, whole and auto-fragmented; uncompressed,
//	    empty and hand-built messages on a compressed connection; RSV1
//	    where it may not be (1002), payloads that do not inflate (1007),
//	    bombs past the message limit (1009; a bomb in fragments refused
//	    only at its last fragment is non-strict)
//	13  permessage-deflate's parameters: each combination of
//	    client_no_context_takeover, client_max_window_bits (8, 15),
//	    server_no_context_takeover and server_max_window_bits (8, 9, 15)
//	    in the offer (servers) or the answer (the client), several offers
//	    in order, each with messages and context takeover probed both
//	    ways; a copy of a whole window from its far edge; offers a server
//	    must decline, answers the client must refuse
//	H   the opening handshake (RFC 6455 section 4), abuse included
//
// Each case has an ID, a description, the section of RFC 6455 it rests on
// (of RFC 7692 in sections 12 and 13) and a result: pass; non-strict (behaviour the RFC allows but does not
// prefer, such as dropping the TCP connection where a close frame was
// expected); fail, with the reason; or skipped (a case the target cannot
// run, such as the slow-request case against a server with no handshake
// timeout). A fail fails the test; non-strict does not. Each case is a
// subtest: go test -run 'TestConformanceServer/http/6.4' picks cases out.
//
// # Compression
//
// Sections 12 and 13 compress and inflate with a codec of the suite's own:
// the standard library's compress/flate, with the tail handling of RFC 7692
// section 7.2 and the context-takeover windows kept here. compress/flate
// cannot shrink its window, so below 15 bits the suite compresses each
// 2^bits bytes on their own. Two helpers are written out by hand: a
// fixed-Huffman encoder for streams whose back-references a case controls
// (a copy of the previous message that inflates only with it in the
// window, bombs), and a small inflater that reports the farthest
// back-reference, so that a peer's messages are checked against the window
// it agreed to (compress/flate accepts any distance up to 32 KiB).
//
// The peer's answer to an offer (or the engine client's offer, and its
// answer to a response) is parsed and checked by the rules of RFC 7692
// section 7. What the suite knows of an in-tree peer's settings (context
// takeover, the size from which it compresses, its message limit) makes
// more things failures: a message it should have compressed that came
// plain, a repeated message it did not compress against its context.
//
// # Targets
//
// The server cases run against the engine's net/http driver (engine.Upgrader
// behind a net/http.Server), the reactor, and any server named by the
// environment; sections 12 and 13 run against four more in-tree servers,
// the net/http driver and the reactor each configured with
// engine.Compression without and with context takeover
// (http-deflate, http-deflate-takeover, reactor-deflate,
// reactor-deflate-takeover), and against the engine client with
// DialOptions.Compression likewise (engine-deflate,
// engine-deflate-takeover). The server the environment names runs every
// section; when it declines permessage-deflate, the cases of sections 12
// and 13 are skipped:
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
