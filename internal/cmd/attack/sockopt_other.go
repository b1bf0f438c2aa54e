//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// setRcvBuf does nothing off Linux (the tool reads /proc anyway).
func setRcvBuf(syscall.RawConn, int) error { return nil }

// unnice is not done here: the normal clients keep the attackers' priority.
func unnice(int) error { return errors.New("not supported on this system") }
