package main

import (
	"runtime"
	"testing"
)

// The bench runs end to end on a small load, both setups.
func TestBenchSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the bench's receivers are Linux only")
	}
	if err := benchMain([]string{"-receivers", "3", "-rates", "20", "-duration", "200ms"}); err != nil {
		t.Fatal(err)
	}
}
