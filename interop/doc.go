// Package interop tests Tachyon against real WebSocket peers: headless
// Chromium, Node's ws and Python's websockets, in both directions (their
// clients against our servers, the reactor and the net/http driver, the
// latter with both APIs (engine's callback Handler and the root package's
// tachyon.Accept with a Read and Write loop); our client, with both APIs,
// against their servers). It has no API: everything lives in its tests.
//
// The peers are installed by ci/interop-tools.sh (Chromium and
// python3-websockets from Debian) and `npm ci --prefix interop` (ws, pinned in
// package.json and package-lock.json); ci/interop.sh does both and runs this
// package. A missing peer skips its test, unless TACHYON_INTEROP_REQUIRED is
// set (CI sets it), when it fails the test.
package interop
