//go:build linux || darwin || freebsd || netbsd || openbsd

// Package guard gives tests byte slices that sit flush against an inaccessible
// (PROT_NONE) page, so that a kernel reading or writing even one byte past
// either end of its input faults instead of passing unnoticed.
package guard

import (
	"os"
	"syscall"
)

// Supported reports whether this platform can place guard pages.
const Supported = true

// Pages is a mapping of n usable bytes between two PROT_NONE guard pages.
type Pages struct {
	mem  []byte // the whole mapping
	page int
	n    int
}

// New maps room for n bytes between two guard pages. Free releases it.
func New(n int) (*Pages, error) {
	page := os.Getpagesize()
	body := (n + page - 1) / page * page
	if body == 0 {
		body = page
	}
	mem, err := syscall.Mmap(-1, 0, body+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		syscall.Munmap(mem)
		return nil, err
	}
	if err := syscall.Mprotect(mem[page+body:], syscall.PROT_NONE); err != nil {
		syscall.Munmap(mem)
		return nil, err
	}
	return &Pages{mem: mem, page: page, n: body}, nil
}

// Head returns a slice of length n that starts at the first byte after the
// leading guard page: a read before b[0] faults.
func (g *Pages) Head(n int) []byte {
	return g.mem[g.page : g.page+n : g.page+n]
}

// Tail returns a slice of length n that ends at the last byte before the
// trailing guard page: a read at b[n] faults.
func (g *Pages) Tail(n int) []byte {
	end := g.page + g.n
	return g.mem[end-n : end : end]
}

// Free unmaps the pages. Slices from Head and Tail must not be used after it.
func (g *Pages) Free() { syscall.Munmap(g.mem) }
