package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a log-linear latency histogram safe for concurrent recording:
// each power of two of nanoseconds is split into 32 buckets (3 % wide).
type hist struct {
	counts [64 * histSub]atomic.Uint64
}

const histSubBits = 5
const histSub = 1 << histSubBits

func histIndex(v int64) int {
	u := uint64(max(v, 0))
	l := bits.Len64(u)
	if l <= histSubBits+1 {
		return int(u)
	}
	shift := l - (histSubBits + 1)
	return shift*histSub + int(u>>uint(shift))
}

// histLow returns the smallest value of bucket i.
func histLow(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	return int64(i-shift*histSub) << uint(shift)
}

func (h *hist) record(d time.Duration) { h.counts[histIndex(int64(d))].Add(1) }

// quantiles returns the values at each q (0..1), as bucket lower bounds,
// and the number of values.
func (h *hist) quantiles(qs ...float64) ([]time.Duration, uint64) {
	var total uint64
	snap := make([]uint64, len(h.counts))
	for i := range h.counts {
		snap[i] = h.counts[i].Load()
		total += snap[i]
	}
	out := make([]time.Duration, len(qs))
	for j, q := range qs {
		want := uint64(q * float64(total))
		if want >= total && total > 0 {
			want = total - 1
		}
		var seen uint64
		for i, c := range snap {
			seen += c
			if seen > want {
				out[j] = time.Duration(histLow(i))
				break
			}
		}
	}
	return out, total
}
