// Command tachyon-cluster runs Tachyon nodes bridged over NATS.
//
//	tachyon-cluster serve [-addr 127.0.0.1:9000] [-nats nats://127.0.0.1:4222] [-name NAME]
//
// serve runs one node of the demo: a chat room at /chat shared by every
// node on the same NATS server, /echo, and /stats (the server's and the
// node's counters, the live nodes and the room's presence) behind a small
// page at /.
//
//	tachyon-cluster bench [-nodes 3] [-receivers 1000] [-size 128] [-rates 3.34,10,33.4] [-duration 5s] [-mode both] [-nats URL]
//
// bench measures a room's broadcast on one node and across nodes bridged
// by NATS (a server in the same process, or the one at -nats), with the
// receivers in the same process: deliveries per second and the latency
// from publish to delivery, for every receiver and, across nodes, apart
// for the receivers on the publishing node and on the others (the
// difference is the hop's cost), and the hop from publish to the frame's
// preparation on a receiving node.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serveMain(os.Args[2:])
	case "bench":
		err = benchMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tachyon-cluster:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tachyon-cluster serve|bench [flags]")
	os.Exit(2)
}
