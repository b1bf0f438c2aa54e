//go:build !linux

package main

import "syscall"

// setRcvBuf does nothing off Linux (the tool reads /proc anyway).
func setRcvBuf(syscall.RawConn, int) error { return nil }
