package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tachyonws/tachyon/engine"
	"github.com/tachyonws/tachyon/internal/wstest"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range testValues() {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, out of [0, %d)", v, i, histBuckets)
		}
		if i < prev {
			t.Fatalf("histIndex not monotonic at %d", v)
		}
		prev = i
		lo, hi := histBounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if w := hi - lo + 1; v >= 2*histSub && float64(w) > float64(lo)/histSub {
			t.Fatalf("bucket %d = [%d, %d] wider than 1/%d of its values", i, lo, hi, histSub)
		}
	}
	if i := histIndex(histMax); i != histBuckets-1 && i >= histBuckets {
		t.Fatalf("histIndex(histMax) = %d, want < %d", i, histBuckets)
	}
}

// testValues returns increasing values from 0 to histMax, dense at the
// bottom and at every power of two.
func testValues() []int64 {
	var vs []int64
	for v := int64(0); v < 4096; v++ {
		vs = append(vs, v)
	}
	for p := int64(4096); p <= histMax; p *= 2 {
		for _, d := range []int64{-1, 0, 1, p / 3, p / 2, p - 1} {
			if v := p + d; v <= histMax {
				vs = append(vs, v)
			}
		}
	}
	vs = append(vs, histMax)
	slices.Sort(vs)
	return slices.Compact(vs)
}

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []string{"uniform", "lognormal", "bimodal"} {
		var h histogram
		vals := make([]int64, 200_000)
		for i := range vals {
			var v float64
			switch dist {
			case "uniform":
				v = r.Float64() * 1e6 // up to 1 ms
			case "lognormal":
				v = math.Exp(r.NormFloat64()*2 + 11) // ~60 µs, wide
			case "bimodal":
				v = 50e3 + r.Float64()*1e3
				if i%100 == 0 {
					v = 30e6 + r.Float64()*1e6 // 1% at 30 ms
				}
			}
			vals[i] = min(int64(v), histMax)
			h.record(vals[i])
		}
		slices.Sort(vals)
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
			want := vals[int(math.Ceil(q*float64(len(vals))))-1]
			got := h.quantile(q)
			if d := math.Abs(float64(got-want)) / max(float64(want), 1); d > 0.01 && got-want > 1 {
				t.Errorf("%s: quantile(%v) = %d, want %d (off by %.2f%%)", dist, q, got, want, d*100)
			}
		}
		if h.max != vals[len(vals)-1] || h.min != vals[0] {
			t.Errorf("%s: min, max = %d, %d, want %d, %d", dist, h.min, h.max, vals[0], vals[len(vals)-1])
		}
		var sum float64
		for _, v := range vals {
			sum += float64(v)
		}
		if m := sum / float64(len(vals)); math.Abs(h.mean()-m) > 1e-6*m {
			t.Errorf("%s: mean = %v, want %v", dist, h.mean(), m)
		}
	}
}

func TestHistogramSmallExactAndMerge(t *testing.T) {
	var a, b histogram
	for v := int64(1); v <= 100; v++ {
		if v%2 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
	}
	a.merge(&b)
	if a.n != 100 || a.quantile(0.5) != 50 || a.quantile(0.99) != 99 || a.quantile(1) != 100 || a.min != 1 {
		t.Fatalf("merged: n=%d p50=%d p99=%d max=%d min=%d", a.n, a.quantile(0.5), a.quantile(0.99), a.quantile(1), a.min)
	}
	var empty histogram
	if empty.quantile(0.5) != 0 || empty.mean() != 0 {
		t.Fatal("empty histogram should report 0")
	}
	a.record(-5)      // a clock going backwards counts as 0
	a.record(1 << 62) // clamped
	if a.min != 0 || a.max != histMax {
		t.Fatalf("min, max = %d, %d", a.min, a.max)
	}
}

func TestHistogramRecordAllocs(t *testing.T) {
	h := new(histogram)
	v := int64(12345)
	if n := testing.AllocsPerRun(1000, func() {
		h.record(v)
		v = v*7 + 1
		v %= histMax
	}); n != 0 {
		t.Fatalf("record allocates %v times per call", n)
	}
}

func TestJain(t *testing.T) {
	for _, c := range []struct {
		xs   []int64
		want float64
	}{
		{[]int64{5, 5, 5, 5}, 1},
		{[]int64{10, 0, 0, 0}, 0.25},
		{[]int64{1, 2, 3}, 36.0 / 42},
		{nil, 1},
		{[]int64{0, 0}, 1},
	} {
		if got := jain(c.xs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("jain(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

// serverStream returns server frames: messages of several sizes, stamped
// with their index in the first 8 bytes where they hold 8; a message in
// three fragments with a ping between two of them; and a close (1001). It
// returns the stream and the number of messages.
func serverStream() ([]byte, int) {
	var b []byte
	msgs := 0
	for i, size := range []int{0, 1, 8, 125, 126, 1000, 65535, 65536, 70000, 3, 8} {
		p := make([]byte, size)
		if size >= 8 {
			binary.LittleEndian.PutUint64(p, uint64(i+1))
		}
		b = engine.AppendFrame(b, engine.Header{Fin: true, OpCode: engine.OpBinary}, p)
		msgs++
		if i == 4 {
			b = engine.AppendFrame(b, engine.Header{Fin: true, OpCode: engine.OpPong}, []byte("pong"))
		}
	}
	first := make([]byte, 300)
	binary.LittleEndian.PutUint64(first, 99)
	b = engine.AppendFrame(b, engine.Header{OpCode: engine.OpText}, first)
	b = engine.AppendFrame(b, engine.Header{Fin: true, OpCode: engine.OpPing}, []byte("ping"))
	b = engine.AppendFrame(b, engine.Header{OpCode: engine.OpContinuation}, make([]byte, 200))
	b = engine.AppendFrame(b, engine.Header{Fin: true, OpCode: engine.OpContinuation}, []byte("end"))
	msgs++
	b = engine.AppendFrame(b, engine.Header{Fin: true, OpCode: engine.OpClose}, engine.AppendClosePayload(nil, engine.StatusGoingAway, "bye"))
	return b, msgs
}

// scanChunks feeds stream to a scanner in the given chunk sizes, the way the
// loader's loops do (a buffer of bufSize bytes, the unconsumed head of a
// frame carried over), and returns the messages, their stamps and whether
// the close was seen.
func scanChunks(t *testing.T, stream []byte, chunks []int, bufSize int) (msgs int, stamps []int64, closed bool) {
	t.Helper()
	sc := frameScanner{need: 8}
	buf := make([]byte, bufSize)
	keep := 0
	for _, n := range chunks {
		for n > 0 {
			k := min(n, len(buf)-keep)
			copy(buf[keep:], stream[:k])
			stream, n = stream[k:], n-k
			b := buf[:keep+k]
			p := 0
		scan:
			for {
				m, ev := sc.next(b[p:])
				p += m
				switch ev {
				case evMore:
					break scan
				case evMessage:
					msgs++
					stamps = append(stamps, sc.stamp)
				case evClose:
					if closed {
						t.Fatal("two closes")
					}
					closed = true
					if sc.closeCode != engine.StatusGoingAway || sc.closeReason != "bye" {
						t.Fatalf("close %d %q", sc.closeCode, sc.closeReason)
					}
				case evError:
					t.Fatalf("scan error: %v", sc.err)
				}
			}
			keep = copy(buf, b[p:])
			if keep > maxKeep {
				t.Fatalf("kept %d bytes, more than %d", keep, maxKeep)
			}
		}
	}
	if keep != 0 || sc.skip != 0 {
		t.Fatalf("left %d bytes, skip %d", keep, sc.skip)
	}
	return msgs, stamps, closed
}

func TestFrameScannerSplits(t *testing.T) {
	stream, want := serverStream()
	// A payload under 8 bytes gives its bytes, zero-padded: zeros here.
	wantStamps := []int64{0, 0, 3, 4, 5, 6, 7, 8, 9, 0, 11, 99}
	check := func(name string, chunks []int, bufSize int) {
		t.Helper()
		msgs, stamps, closed := scanChunks(t, stream, chunks, bufSize)
		if msgs != want || !closed {
			t.Fatalf("%s: %d messages, closed %v; want %d and a close", name, msgs, closed, want)
		}
		if !slices.Equal(stamps, wantStamps) {
			t.Fatalf("%s: stamps %v, want %v", name, stamps, wantStamps)
		}
	}
	check("whole", []int{len(stream)}, len(stream)+maxKeep)
	check("small buffer", []int{len(stream)}, 4096)
	for _, n := range []int{1, 2, 3, 7, 13, 100, 1500} {
		var chunks []int
		for rest := len(stream); rest > 0; rest -= n {
			chunks = append(chunks, min(n, rest))
		}
		check(fmt.Sprint("chunks of ", n), chunks, 4096)
	}
	// Every split of the stream into two reads, near the frame boundaries of
	// interest (all of it would take too long at these sizes).
	for at := 1; at < len(stream); at++ {
		if at > 600 && at < len(stream)-600 && at%997 != 0 {
			continue
		}
		check("split", []int{at, len(stream) - at}, 64<<10)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var chunks []int
		for rest := len(stream); rest > 0; {
			n := min(rest, 1+r.IntN(3000))
			chunks = append(chunks, n)
			rest -= n
		}
		check("random", chunks, 1024+r.IntN(8192))
	}
}

func TestFrameScannerMaskedServerFrame(t *testing.T) {
	b := engine.AppendFrame(nil, engine.Header{Fin: true, OpCode: engine.OpClose, Masked: true}, []byte{3, 232})
	var sc frameScanner
	if _, ev := sc.next(b); ev != evError {
		t.Fatalf("masked close from a server: event %d, want an error", ev)
	}
}

func TestStampRing(t *testing.T) {
	r := newStampRing(3)
	r.pushN(10, 2)
	r.pushN(20, 2)
	for _, want := range []int64{10, 10, 20} {
		if got, ok := r.pop(); !ok || got != want {
			t.Fatalf("pop = %d %v, want %d", got, ok, want)
		}
	}
	r.pushN(30, 3)
	for _, want := range []int64{20, 30, 30, 30} {
		if got, ok := r.pop(); !ok || got != want {
			t.Fatalf("pop = %d %v, want %d", got, ok, want)
		}
	}
	if _, ok := r.pop(); ok {
		t.Fatal("pop from an empty ring")
	}
}

func TestClientFrames(t *testing.T) {
	b := appendClientFrames(nil, 3, 200, engine.OpText, false)
	var h engine.Header
	for i := range 3 {
		n, err := engine.ParseHeader(b, &h)
		if err != nil || !h.Masked || !h.Fin || h.OpCode != engine.OpText || h.Length != 200 {
			t.Fatalf("frame %d: %+v %v", i, h, err)
		}
		p := bytes.Clone(b[n : n+200])
		for j := range p {
			p[j] ^= h.Mask[j%4]
		}
		if p[0] != 'a' || p[25] != 'z' || p[26] != 'a' {
			t.Fatalf("frame %d: payload %q", i, p[:30])
		}
		b = b[n+200:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left", len(b))
	}
}

// testServer serves /echo, /broadcast, /idle (an echo too) and /forbidden
// (403) on loopback until the test ends.
func testServer(t *testing.T) (url string) { return wstest.Server(t, nil) }

func report(t *testing.T, res *Result) string {
	t.Helper()
	var b strings.Builder
	if err := res.Report(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	return b.String()
}

func TestRunEcho(t *testing.T) {
	for _, io := range ios() {
		t.Run(string(io), func(t *testing.T) {
			url := testServer(t)
			res, err := Run(context.Background(), Config{URL: url + "/echo", IO: io, Loops: 2, Conns: 8, Inflight: 4, Size: 100, Text: true,
				Duration: 600 * time.Millisecond, Warmup: 200 * time.Millisecond, PID: os.Getpid()})
			if err != nil {
				t.Fatal(err)
			}
			text := report(t, res)
			if res.Open != 8 || res.Errors != 0 {
				t.Fatalf("open %d, errors %d %v", res.Open, res.Errors, res.ErrorKinds)
			}
			if res.Messages < 100 || res.MsgsPerSec <= 0 || res.MBPerSec <= 0 {
				t.Fatalf("messages %d, %v msgs/s, %v MB/s", res.Messages, res.MsgsPerSec, res.MBPerSec)
			}
			if res.Latencies == 0 || res.P50us <= 0 || res.P99us < res.P50us || res.MaxUs < res.P999us {
				t.Fatalf("latencies: %d recorded, p50 %v p99 %v p999 %v max %v", res.Latencies, res.P50us, res.P99us, res.P999us, res.MaxUs)
			}
			if res.MinPerConn <= 0 || res.Jain <= 0 || res.Jain > 1 || res.LongestSilenceMs <= 0 {
				t.Fatalf("fairness: min %d, Jain %v, silence %v", res.MinPerConn, res.Jain, res.LongestSilenceMs)
			}
			if runtime.GOOS == "linux" {
				// The server is this process, the loader included: both
				// are measured, and the warning follows the comparison.
				warned := len(res.Warnings) != 0
				if res.LoaderCPU <= 0 || res.ServerCPU <= 0 || res.LoaderUsPerMsg <= 0 || warned != (res.LoaderCPU >= res.ServerCPU) {
					t.Fatalf("cpu: loader %v, server %v, %v µs/msg, warnings %q", res.LoaderCPU, res.ServerCPU, res.LoaderUsPerMsg, res.Warnings)
				}
			}
			if !strings.Contains(text, "msgs/s") || !strings.Contains(text, "Jain") {
				t.Fatalf("report lacks its lines:\n%s", text)
			}
		})
	}
}

// ios returns the IO drivers of this platform.
func ios() []IO {
	if runtime.GOOS == "linux" {
		return []IO{IONet, IOEpoll}
	}
	return []IO{IONet}
}

func TestRunBroadcast(t *testing.T) {
	for _, io := range ios() {
		t.Run(string(io), func(t *testing.T) {
			url := testServer(t)
			res, err := Run(context.Background(), Config{URL: url + "/broadcast", Mode: Broadcast, IO: io, Conns: 5, Duration: 500 * time.Millisecond,
				Warmup: 100 * time.Millisecond, Interval: 10 * time.Millisecond, Size: 64})
			if err != nil {
				t.Fatal(err)
			}
			report(t, res)
			if res.Open != 5 || res.Errors != 0 || res.Sent < 10 || res.Sent > 51 {
				t.Fatalf("open %d, errors %d %v, sent %d", res.Open, res.Errors, res.ErrorKinds, res.Sent)
			}
			if res.Messages != res.Sent*5 || res.Missing != 0 || res.Latencies != uint64(res.Messages) {
				t.Fatalf("deliveries %d of %d sent to 5, %d missing, %d latencies", res.Messages, res.Sent, res.Missing, res.Latencies)
			}
			if res.MinPerConn != res.Sent || res.Jain != 1 || res.P50us <= 0 {
				t.Fatalf("per connection %d min of %d sent, Jain %v, p50 %v", res.MinPerConn, res.Sent, res.Jain, res.P50us)
			}
		})
	}
}

func TestRunIdle(t *testing.T) {
	url := testServer(t)
	res, err := Run(context.Background(), Config{URL: url + "/idle", Mode: Idle, Conns: 50, Duration: 100 * time.Millisecond, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	report(t, res)
	if res.Open != 50 || res.CleanCloses != 50 || res.Errors != 0 || res.UpgradesPerSec <= 0 {
		t.Fatalf("open %d, clean closes %d, errors %d %v, %v upgrades/s", res.Open, res.CleanCloses, res.Errors, res.ErrorKinds, res.UpgradesPerSec)
	}
	if runtime.GOOS == "linux" && (res.RSSBeforeKB <= 0 || len(res.RSSAfterKB) != 2) {
		t.Fatalf("RSS %d before, %v after", res.RSSBeforeKB, res.RSSAfterKB)
	}
}

func TestRunErrors(t *testing.T) {
	url := testServer(t)
	res, err := Run(context.Background(), Config{URL: url + "/forbidden", Conns: 3, Duration: 100 * time.Millisecond})
	if !errors.Is(err, ErrNoConnection) || res == nil || res.Open != 0 || res.Errors != 3 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if k := "handshake: refused with HTTP 403"; !strings.Contains(report(t, res), k) {
		t.Fatalf("report does not say %q", k)
	}
	for _, cfg := range []Config{
		{},
		{URL: "http://x/"},
		{URL: "ws://x/", Mode: "flood"},
		{URL: "ws://x/", IO: "uring"},
		{URL: "ws://x/", Conns: -1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil || errors.Is(err, ErrNoConnection) {
			t.Errorf("Run(%+v): err %v, want a configuration error", cfg, err)
		}
	}
}

// TestRunCancel: a cancelled context ends a run early, in every mode, with
// the connections closed and the result of the shorter window.
func TestRunCancel(t *testing.T) {
	url := testServer(t)
	for _, cfg := range []Config{
		{URL: url + "/echo", Conns: 4, IO: IONet},
		{URL: url + "/echo", Conns: 4},
		{URL: url + "/broadcast", Mode: Broadcast, Conns: 4, IO: IONet},
		{URL: url + "/broadcast", Mode: Broadcast, Conns: 4},
		{URL: url + "/idle", Mode: Idle, Conns: 4},
	} {
		cfg.Duration = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		res, err := Run(ctx, cfg)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || res == nil || res.Open != 4 {
			t.Fatalf("%s %s: err %v, result %+v", cfg.Mode, cfg.IO, err, res)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("%s %s: took %v after a cancel at 300 ms", cfg.Mode, cfg.IO, d)
		}
	}
}

func TestCPUWarning(t *testing.T) {
	for _, c := range []struct {
		loader, server float64
		warn           bool
	}{
		{0.5, 1, false},
		{1, 1, true},
		{1, 0.6, true},
		{1, 0, false}, // server not measured
	} {
		var w strings.Builder
		l, err := newLoader(Config{URL: "ws://127.0.0.1:1/", Warnings: &w})
		if err != nil {
			t.Fatal(err)
		}
		res := &Result{LoaderCPU: c.loader, ServerCPU: c.server, MsgsPerSec: 1e5}
		l.finish(res)
		if got := len(res.Warnings) == 1 && strings.Contains(w.String(), "load: warning: the loader used as much CPU as the server"); got != c.warn {
			t.Errorf("loader %v, server %v: warned %v (%q), want %v", c.loader, c.server, got, w.String(), c.warn)
		}
		if want := c.loader / 1e5 * 1e6; res.LoaderUsPerMsg != want {
			t.Errorf("loader µs per message %v, want %v", res.LoaderUsPerMsg, want)
		}
	}
}

func TestRunBroadcastPaced(t *testing.T) {
	for _, io := range ios() {
		t.Run(string(io), func(t *testing.T) {
			url := testServer(t)
			res, err := Run(context.Background(), Config{URL: url + "/broadcast", Mode: Broadcast, IO: io, Conns: 20, Inflight: 4, Interval: -1,
				Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond, Size: 128, PID: os.Getpid()})
			if err != nil {
				t.Fatal(err)
			}
			report(t, res)
			if res.Open != 20 || res.Errors != 0 || res.Sent < 50 {
				t.Fatalf("open %d, errors %d %v, sent %d", res.Open, res.Errors, res.ErrorKinds, res.Sent)
			}
			// The sender stops at the end: what it sent in the window is
			// delivered within the grace period.
			if res.Messages != res.Sent*20 || res.Missing != 0 || res.Latencies != uint64(res.Messages) {
				t.Fatalf("deliveries %d of %d sent to 20, %d missing, %d latencies", res.Messages, res.Sent, res.Missing, res.Latencies)
			}
			if runtime.GOOS == "linux" && (res.LoaderCPU <= 0 || res.ServerCPU <= 0) {
				t.Fatalf("cpu: loader %v, server %v", res.LoaderCPU, res.ServerCPU)
			}
		})
	}
}

func TestStampASCII(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 1e9, 1<<56 - 1} {
		var b [8]byte
		putStamp(b[:], v)
		for _, c := range b {
			if c >= 0x80 {
				t.Fatalf("stamp %d: byte %#x is not ASCII", v, c)
			}
		}
		if got := readStamp(b); got != v {
			t.Fatalf("stamp %d read back as %d", v, got)
		}
	}
}

func TestRunSlowReaders(t *testing.T) {
	url := testServer(t)
	res, err := Run(context.Background(), Config{URL: url + "/echo", Conns: 10, Inflight: 2, Size: 4096, SlowReaders: 0.2,
		Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	report(t, res)
	if res.SlowReaders != 2 || res.Open != 10 || res.Messages == 0 || res.MinPerConn == 0 {
		t.Fatalf("slow %d, open %d, messages %d, min per conn %d", res.SlowReaders, res.Open, res.Messages, res.MinPerConn)
	}
	if runtime.GOOS == "linux" && (res.RSSPeakKB < res.RSSBeforeKB || res.RSSBeforeKB == 0) {
		t.Fatalf("RSS %d at the start, peak %d", res.RSSBeforeKB, res.RSSPeakKB)
	}
}

// TestRunDeflate: with Deflate the loader's compressed messages are
// inflated and echoed compressed by a server that accepts
// permessage-deflate, in the echo and idle modes, with and without context
// takeover; a server that declines is an error of every connection.
func TestRunDeflate(t *testing.T) {
	url := wstest.Server(t, &engine.Compression{Threshold: -1, ContextTakeover: true})
	for _, take := range []bool{false, true} {
		res, err := Run(context.Background(), Config{URL: url + "/echo", Conns: 4, Inflight: 2, Size: 2000, Text: true,
			Deflate: true, DeflateTakeover: take, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Open != 4 || res.Errors != 0 || res.Messages < 10 {
			t.Fatalf("takeover %v: open %d, errors %d %v, messages %d", take, res.Open, res.Errors, res.ErrorKinds, res.Messages)
		}
		res, err = Run(context.Background(), Config{URL: url + "/idle", Mode: Idle, Conns: 5, Size: 1000,
			Deflate: true, DeflateTakeover: take, Duration: 100 * time.Millisecond})
		if err != nil || res.Open != 5 || res.Errors != 0 || res.CleanCloses != 5 {
			t.Fatalf("idle, takeover %v: %v; open %d, errors %d %v", take, err, res.Open, res.Errors, res.ErrorKinds)
		}
	}
	plain := wstest.Server(t, nil)
	res, err := Run(context.Background(), Config{URL: plain + "/echo", Conns: 2, Deflate: true, Duration: 100 * time.Millisecond})
	if !errors.Is(err, ErrNoConnection) || res.Errors != 2 || !strings.Contains(fmt.Sprint(res.ErrorKinds), "declined") {
		t.Fatalf("against a server without compression: %v, %d errors %v", err, res.Errors, res.ErrorKinds)
	}
	if _, err := Run(context.Background(), Config{URL: url, Mode: Broadcast, Deflate: true}); err == nil {
		t.Fatal("Deflate in the broadcast mode was accepted")
	}
}
