//go:build !linux

package main

import (
	"errors"
	"sync"
	"time"
)

var errNotLinux = errors.New("only on Linux")

// raiseFileLimit does nothing outside Linux (Go raises the soft limit on
// open files itself at start-up on Unix systems).
func raiseFileLimit() error { return nil }

// selfCPU is not measured outside Linux.
func selfCPU() (time.Duration, error) { return 0, errNotLinux }

// processCPU is not measured outside Linux.
func processCPU(pid int) (time.Duration, error) { return 0, errNotLinux }

// defaultIO is the echo mode's default -io: a goroutine per connection
// (-io epoll is Linux only).
const defaultIO = "net"

func (l *loader) startEpoll(wg *sync.WaitGroup, conns []*echoConn, frames []byte, frameLen int) error {
	return errNotLinux
}
