// Package interop tests Tachyon against real WebSocket peers: headless
// Chromium, Node's ws and Python's websockets, in both directions (their
// clients against our servers, the reactor and the net/http driver, the
// latter with both APIs (engine's callback Handler and the root package's
// tachyon.Accept with a Read and Write loop); our client, with both APIs,
// against their servers). It has no API: everything lives in its tests.
//
// Each peer runs once without compression, and then with permessage-deflate
// (RFC 7692, deflate_test.go) in a table of settings per peer: with and
// without context takeover, windows down to 8 bits, our servers configured
// with engine.Compression and our client with DialOptions.Compression,
// Chromium with its own offer. Compressed exchanges go through a tap, a TCP
// proxy that records the handshake's extensions and each message's RSV1
// and size on the wire (tap_test.go), so that a test sees what each side
// really sent, not only what came back.
//
// The peers are installed by ci/interop-tools.sh (Chromium and
// python3-websockets from Debian) and `npm ci --prefix interop` (ws, pinned in
// package.json and package-lock.json); ci/interop.sh does both and runs this
// package. A missing peer skips its test, unless TACHYON_INTEROP_REQUIRED is
// set (CI sets it), when it fails the test.
package interop
