//go:build !linux

// Command ceiling is the least a WebSocket echo server can do, on raw epoll
// system calls; it exists on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ceiling: Linux only (epoll)")
	os.Exit(1)
}
