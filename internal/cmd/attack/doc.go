// Command attack plays hostile WebSocket peers against a running
// `tachyon echo` server and reports how the server holds up: its memory
// (VmRSS from /proc/PID/status, sampled every 50 ms), its CPU, the latency
// of well-behaved clients beside the attackers, and how each peer's
// connection ended (a close frame and its code, EOF, a reset). It reports;
// it asserts nothing. ci/attack.sh (make attack) runs every scenario
// against a fresh server process of each driver.
//
// Every scenario targets a loopback address only (the tool refuses any
// other host), and every loop in it is bounded in count and in time:
//
//	hold         N peers send the header of a 16 MiB masked binary frame and
//	             all of its payload but the last byte, then hold the socket
//	             open: the server's peak RSS, how it closed them, and its
//	             RSS 5, 15 and 30 s after they leave against the idle baseline.
//	pingflood    peers send masked pings as fast as they can and never read
//	             (small SO_RCVBUF) beside one client echoing a small message
//	             every 100 ms: its latency and failures, the server's memory,
//	             how the flooders ended.
//	slowreaders  peers send 16 KiB echo requests continuously and never read
//	             beside normal clients echoing every 100 ms: the same report.
//	fastreaders  tries of two 8 MiB messages back to back then a ping, and of
//	             one 16 MiB message with a ping 2 ms later, read at full
//	             speed: tries that got every echo and the pong, tries dropped.
//	sigterm      C idle connections, then SIGTERM to the server: how many got
//	             a 1001 close frame, how many only EOF or a reset, and how long
//	             from the signal to the last client's result.
//	halfopen     one client completes the handshake and then sends nothing
//	             (it never answers pings): how long until the server closes
//	             it (meant for a server started with a short read timeout).
//
// Usage:
//
//	attack -scenario hold -url ws://127.0.0.1:9001/ -pid 1234 [-n 100]
//
// The frames the attackers send are encoded (and masked) once and written
// over and over; each connection has one goroutine (two where it both
// writes and reads). The well-behaved clients of pingflood and slowreaders
// run in a child process (the tool re-executed with -scenario normal), so
// that the attackers' goroutines do not delay them inside the tool and
// their latency is the server's.
package main
