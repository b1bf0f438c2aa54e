//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package guard

import "errors"

// Supported reports whether this platform can place guard pages.
const Supported = false

// Pages is unavailable on this platform.
type Pages struct{}

// New always fails on this platform.
func New(n int) (*Pages, error) { return nil, errors.New("guard: not supported on this platform") }

// Head is unavailable on this platform.
func (g *Pages) Head(n int) []byte { return nil }

// Tail is unavailable on this platform.
func (g *Pages) Tail(n int) []byte { return nil }

// Free is unavailable on this platform.
func (g *Pages) Free() {}
