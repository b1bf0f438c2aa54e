//go:build !linux

package main

import "errors"

type rawReceivers struct {
	rec   *receiver
	loops int
}

func (rr *rawReceivers) dial(string, int, bool) error {
	return errors.New("bench: Linux only (epoll receivers)")
}
func (rr *rawReceivers) start() error { return nil }
func (rr *rawReceivers) close()       {}
