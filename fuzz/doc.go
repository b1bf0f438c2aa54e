// Package fuzz holds Tachyon's native fuzz targets (go test -fuzz). They use
// only the exported API of the packages they test, plus the internal switch that
// forces each SIMD level, so every path is held equal on every input.
//
// Run one target for a while with
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzUTF8$' -fuzztime 5m
//
// or all of them with `make fuzz`. `go test ./fuzz` runs the seed corpora in
// testdata/fuzz and the seeds added in code, as a plain test.
package fuzz
