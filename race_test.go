//go:build race

package tachyon_test

const raceEnabled = true
