package load

import (
	"math"
	"math/bits"
)

// A log-linear latency histogram in the manner of HdrHistogram: values in
// nanoseconds, each power of two split into histSub linear buckets, so that a
// bucket's width is at most 1/histSub (0.8%) of the values it holds, and the
// value reported for it (its midpoint) is within 0.4% of any of them. Values
// below 2·histSub ns are exact. Values over histMax are clamped to it. The
// array is fixed (3,840 counters, 30 KiB): recording is an index computation
// and an increment, with no allocation.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits                 // linear buckets per power of two
	histMax     = int64(60e9)                      // 60 s: larger values are clamped
	histBuckets = (36 - histSubBits + 1) * histSub // bits.Len64(histMax) = 36
)

type histogram struct {
	counts [histBuckets]uint64
	n      uint64 // values recorded
	sum    float64
	min    int64
	max    int64
}

// histIndex returns the bucket of v (0 <= v <= histMax).
func histIndex(v int64) int {
	u := uint64(v)
	l := bits.Len64(u)
	if l <= histSubBits+1 {
		return int(u) // exact below 2·histSub
	}
	shift := l - (histSubBits + 1)
	return shift*histSub + int(u>>uint(shift))
}

// histBounds returns the smallest and largest value that fall in bucket i.
func histBounds(i int) (lo, hi int64) {
	if i < 2*histSub {
		return int64(i), int64(i)
	}
	shift := i/histSub - 1
	top := int64(i - shift*histSub) // in [histSub, 2·histSub)
	lo = top << uint(shift)
	return lo, lo + 1<<uint(shift) - 1
}

// record adds one value in nanoseconds. Negative values (a clock that went
// backwards) count as 0.
func (h *histogram) record(v int64) {
	if v < 0 {
		v = 0
	}
	if v > histMax {
		v = histMax
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	h.counts[histIndex(v)]++
}

// merge adds o's values to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// quantile returns the value at quantile q (0 < q <= 1): the midpoint of the
// bucket holding the ceil(q·n)-th smallest value, clamped to the exact min
// and max. It returns 0 for an empty histogram.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	rank = min(rank, h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(i)
			v := lo + (hi-lo)/2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// mean returns the exact mean, or 0 for an empty histogram.
func (h *histogram) mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// jain returns Jain's fairness index of xs, (Σx)²/(n·Σx²): 1 when every x is
// equal, 1/n when one takes everything. It is 1 for no values or all zeros
// (nothing was unfair).
func jain(xs []int64) float64 {
	var s, s2 float64
	for _, x := range xs {
		f := float64(x)
		s += f
		s2 += f * f
	}
	if s2 == 0 {
		return 1
	}
	return s * s / (float64(len(xs)) * s2)
}
