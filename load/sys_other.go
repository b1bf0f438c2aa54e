//go:build !linux

package load

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

var errNotLinux = errors.New("only on Linux")

// selfCPU is not measured outside Linux.
func selfCPU() (time.Duration, error) { return 0, errNotLinux }

// processCPU is not measured outside Linux.
func processCPU(pid int) (time.Duration, error) { return 0, errNotLinux }

// defaultIO is the echo mode's default IO: a goroutine per connection
// (IOEpoll is Linux only).
const defaultIO = IONet

func (l *loader) startEpoll(wg *sync.WaitGroup, conns []*echoConn, frames []byte, frameLen int) error {
	return errNotLinux
}

func (l *loader) runBroadcastEpoll() (*Result, error) {
	return nil, fmt.Errorf("load: IO epoll: %w", errNotLinux)
}
