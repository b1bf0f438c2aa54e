// Command tachyon runs Tachyon's demo server, a bare echo server for test
// suites and benchmarks, and a load generator.
//
//	tachyon serve [-addr 127.0.0.1:9000]          the demo: echo box, chat room, live stats
//	tachyon echo -addr ADDR [-driver reactor|http] [-loops N]
//	tachyon load -url URL [flags]                 a load generator
//
// Run a subcommand with -h for its flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serveMain(args)
	case "echo":
		err = echoMain(args)
	case "load":
		err = loadMain(args)
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "tachyon: unknown command %q\n", cmd)
		usage()
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tachyon:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  tachyon serve [-addr 127.0.0.1:9000]                  demo page: echo box, chat room, live stats
  tachyon echo -addr ADDR [-driver reactor|http] [-loops N]   bare echo server
  tachyon load -url URL [flags]                         load generator (echo, idle, broadcast)
`)
}
