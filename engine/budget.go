package engine

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Inbound budget defaults.
const (
	// DefaultBudgetLimit is the most the default budget allows (256 MiB);
	// less when the process's memory limit is small (see DefaultBudget).
	// With the garbage that growing buffers leave and the collector's
	// headroom, a process whose peers fill it peaks at about twice that.
	DefaultBudgetLimit = 256 << 20
	// minBudgetLimit is the least the default budget allows.
	minBudgetLimit = 16 << 20
	// releaseFloor: below this high-water mark the budget never asks the
	// runtime to hand memory back.
	releaseFloor = 64 << 20
)

// ErrBudget fails a connection that would take the server past its inbound
// budget (see Budget): 1008, the budget and not the message is the reason.
var ErrBudget = &ProtocolError{StatusPolicyViolation, "server inbound memory budget exhausted"}

// Budget bounds the bytes that peers make a server hold for them across all
// its connections: messages being assembled and, on the event-loop server,
// the partial frames and handshakes waiting in the read buffers. Each
// connection reserves bytes before it holds them and releases them once the
// message is delivered or the connection ends; a reservation that would pass
// the limit is refused, and the connection asking is failed with 1008
// (ErrBudget) before the memory is spent. Per-connection limits
// (Config.MaxMessageSize, the read buffer) still apply; the budget is the
// bound on their sum.
//
// When the bytes held fall to a quarter of a high-water mark above 64 MiB
// (hostile or bulky peers left), the budget asks the runtime to hand the
// freed memory back to the operating system, once, a second later, so that
// an idle process does not keep it for minutes.
//
// A nil *Budget allows everything. Its methods are safe from any goroutine.
type Budget struct {
	limit   int64
	used    atomic.Int64
	peak    atomic.Int64
	denied  atomic.Uint64
	freed   atomic.Int64 // bytes let go outside the reservations (Freed)
	freeing atomic.Bool
}

// NewBudget returns a budget of limit bytes; limit <= 0 means the default
// (DefaultBudget's limit).
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = defaultLimit()
	}
	return &Budget{limit: limit}
}

var (
	sharedOnce   sync.Once
	sharedBudget *Budget
)

// DefaultBudget returns the process-wide budget that servers and upgraders
// use unless given their own: DefaultBudgetLimit (256 MiB), or a quarter
// of the process's memory limit when that is smaller (GOMEMLIMIT, or the
// cgroup's memory.max), but at least 16 MiB.
func DefaultBudget() *Budget {
	sharedOnce.Do(func() { sharedBudget = NewBudget(0) })
	return sharedBudget
}

func defaultLimit() int64 {
	limit := int64(DefaultBudgetLimit)
	if m := debug.SetMemoryLimit(-1); m > 0 && m < math.MaxInt64 {
		limit = min(limit, m/4)
	}
	if m := cgroupMemoryMax(); m > 0 {
		limit = min(limit, m/4)
	}
	return max(limit, minBudgetLimit)
}

// cgroupMemoryMax reads the cgroup v2 (or v1) memory limit; 0 when there
// is none.
func cgroupMemoryMax() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && v > 0 && v < 1<<60 {
			return v
		}
	}
	return 0
}

// Limit returns the budget's limit in bytes.
func (b *Budget) Limit() int64 {
	if b == nil {
		return math.MaxInt64
	}
	return b.limit
}

// Used returns the bytes reserved now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Denied returns how many reservations were refused.
func (b *Budget) Denied() uint64 {
	if b == nil {
		return 0
	}
	return b.denied.Load()
}

// Reserve takes n bytes from the budget and reports whether it could: when
// it returns false nothing was taken.
func (b *Budget) Reserve(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	u := b.used.Add(n)
	if u > b.limit {
		b.used.Add(-n)
		b.denied.Add(1)
		return false
	}
	if u > b.peak.Load() {
		b.peak.Store(u) // a racy maximum is good enough for a high-water mark
	}
	return true
}

// Release gives back n bytes reserved before.
func (b *Budget) Release(n int64) {
	if b == nil || n <= 0 {
		return
	}
	u := b.used.Add(-n)
	if p := b.peak.Load(); p > releaseFloor && u < p/4 && b.freeing.CompareAndSwap(false, true) {
		go b.handBack()
	}
}

// Freed tells the budget that n bytes a peer made the process hold outside
// the budget (a backlog it did not read, say) were let go: once such bytes
// add up past 64 MiB, freed memory is handed back to the operating system
// as after a fall of the reservations.
func (b *Budget) Freed(n int64) {
	if b == nil || n <= 0 {
		return
	}
	if b.freed.Add(n) > releaseFloor && b.freeing.CompareAndSwap(false, true) {
		go b.handBack()
	}
}

// handBack returns freed memory to the operating system, a moment after
// the bytes were released (their buffers are dropped right after Release).
func (b *Budget) handBack() {
	time.Sleep(time.Second)
	runtime.GC() // the first cycle empties the pools (sync.Pool keeps a victim for one)
	debug.FreeOSMemory()
	b.peak.Store(b.used.Load())
	b.freed.Store(0)
	b.freeing.Store(false)
}
