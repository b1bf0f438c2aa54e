// Package load is a WebSocket load generator: it opens many client
// connections to a server over loopback or a test network, drives them, and
// measures what the server does with them — throughput, latency percentiles,
// fairness across connections, memory per idle connection, and the CPU of
// both sides. `tachyon load` is its command-line front-end and the bench/
// module drives every server it compares with it; a user can load-test their
// own server from a Go test with Run.
//
// # Modes
//
//   - Echo: every connection keeps Config.Inflight messages outstanding
//     against an echo server and times each echo (write to read). With
//     Config.SlowReaders, a share of the connections stops reading after
//     the warm-up and keeps writing, and the others are measured.
//   - Broadcast: the first connection sends a time-stamped message every
//     Config.Interval (or, with a negative Interval, as fast as the
//     receivers take them, Config.Inflight at a time) to a server that
//     sends each message to every connection; every connection times the
//     deliveries.
//   - Idle: Config.Conns connections are opened and held; the run reports
//     upgrades per second and, with Config.PID, the server's resident memory
//     per connection.
//
// # From a Go test
//
// Start the server under test (in the process, as the examples do, or
// apart: then give Config.PID for its CPU and memory), run the load and
// hold the Result to what the server promises:
//
//	func TestEchoUnderLoad(t *testing.T) {
//		url := startMyServer(t) // ws://127.0.0.1:PORT/
//		res, err := load.Run(t.Context(), load.Config{URL: url, Conns: 100, Inflight: 16, Size: 4096, Duration: 2 * time.Second})
//		if err != nil {
//			t.Fatal(err)
//		}
//		if res.Errors > 0 || res.Jain < 0.9 || res.P99us > 50e3 {
//			t.Errorf("%d errors %v, Jain %.2f, p99 %.0f µs", res.Errors, res.ErrorKinds, res.Jain, res.P99us)
//		}
//		t.Logf("%.0f msgs/s (loader %.2f cores, server %.2f)", res.MsgsPerSec, res.LoaderCPU, res.ServerCPU)
//	}
//
// # Cost
//
// The loader must cost less than the server it measures, or it measures
// itself. So: the client frames are built and masked once, before the run
// (every connection sends the same few frames again and again; RFC 6455's
// fresh key per frame guards against intermediaries a test network does not
// have); under IOEpoll (the default on Linux) each wake-up of a connection
// is one read(2) of everything available into a buffer shared by its event
// loop and one write(2) of as many frames as echoes came back; the frames
// read are scanned, not decoded or copied; the clock is read once per read;
// and nothing is allocated per message (a test asserts it). The broadcast
// mode runs the same way on one loop, which holds every receiver and the
// sender: a wake-up of a receiver is one read(2) and a scan of the
// deliveries in it, and the sender writes its next message from the loop as
// soon as the deliveries allow it.
//
// Every run measures the loader's own CPU and, given the server's PID, the
// server's, in cores beside the throughput and per message. When the loader
// used as much CPU as the server, the Result carries a warning: the loader
// may then be what saturated, and servers are better compared by messages
// per second of server CPU.
//
// # Limits
//
// Linux gives the CPU and memory figures (/proc and getrusage) and the epoll
// driver; elsewhere the echo and broadcast modes run a goroutine per
// connection (IONet) and the CPU figures are 0. Only ws:// URLs; the loader
// does not validate what the server sends beyond framing (an echo is
// counted, not compared).
// Runs are bounded in connections and time: Warmup + Duration, plus the
// time to open (10 s per handshake at most) and close (1 s per connection at
// most) the connections.
package load
