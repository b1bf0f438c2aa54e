//go:build !linux

// Command epollecho is a bare epoll echo WebSocket server; it exists on Linux
// only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "epollecho: Linux only (epoll)")
	os.Exit(1)
}
