package conformance

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// outcome is a case's verdict. The order matters: a case's outcome only
// ever gets worse, from pass to non-strict to fail.
type outcome int

const (
	pass outcome = iota
	nonStrict
	fail
	skipped
)

func (o outcome) String() string {
	switch o {
	case pass:
		return "pass"
	case nonStrict:
		return "non-strict"
	case fail:
		return "FAIL"
	}
	return "skipped"
}

// defaultTimeout bounds a case that names no timeout of its own.
const defaultTimeout = 5 * time.Second

// side says which targets a case applies to.
type side uint8

const (
	both       side = iota
	serverOnly      // the peer under test is a server
	clientOnly      // the peer under test is the engine's client
)

// testCase is one conformance case.
type testCase struct {
	id      string // "1.1.1": the group is the part before the first dot
	desc    string
	rfc     string // section of RFC 6455 (of RFC 7692 for deflate cases)
	only    side
	deflate bool          // a permessage-deflate case (sections 12 and 13)
	timeout time.Duration // 0: defaultTimeout
	run     func(cx *caseCtx)
}

// rfcRef names the RFC section the case rests on.
func (c testCase) rfcRef() string {
	if c.deflate {
		return "RFC 7692 section " + c.rfc
	}
	return "RFC 6455 section " + c.rfc
}

// result is what running a case found.
type result struct {
	c       testCase
	outcome outcome
	reason  string
	elapsed time.Duration
}

// stopCase unwinds a case once its verdict is final; runCase recovers it.
type stopCase struct{}

// check collects a case's verdict. Its failf and skipf end the case (they
// panic with stopCase, like t.FailNow ends a test); nonStrictf and infof
// record and carry on. Only the case's own goroutine may call them.
type check struct {
	outcome  outcome
	reasons  []string
	info     []string
	deadline time.Time // the case's: every read and write is bounded by it
	cleanups []func()
}

func (x *check) failf(format string, args ...any) {
	x.outcome = fail
	x.reasons = append(x.reasons, fmt.Sprintf(format, args...))
	panic(stopCase{})
}

func (x *check) skipf(format string, args ...any) {
	x.outcome = skipped
	x.reasons = append(x.reasons, fmt.Sprintf(format, args...))
	panic(stopCase{})
}

func (x *check) nonStrictf(format string, args ...any) {
	if x.outcome < nonStrict {
		x.outcome = nonStrict
	}
	x.reasons = append(x.reasons, fmt.Sprintf(format, args...))
}

// infof records a remark shown in the table even when the case passes.
func (x *check) infof(format string, args ...any) {
	x.info = append(x.info, fmt.Sprintf(format, args...))
}

// cleanup registers f to run when the case ends, last registered first.
func (x *check) cleanup(f func()) { x.cleanups = append(x.cleanups, f) }

// caseCtx is what a case runs with: its verdict and a way to reach the peer
// under test.
type caseCtx struct {
	check
	tgt    *target // the server under test; nil on the client side
	fake   *fakeServer
	client *clientUnderTest // the client of the last open, on the client side
	finish []func()         // checks run after the case body, still able to fail it
}

// open connects to the peer under test and completes the opening handshake:
// as a client to a server target, or as the server an engine client dials.
func (cx *caseCtx) open() *wire {
	if cx.fake != nil {
		return cx.fake.open(cx)
	}
	return cx.tgt.open(cx)
}

// runCase runs c to its verdict. A panic other than stopCase is a bug of the
// suite: it is reported as a fail with its stack.
func runCase(c testCase, setup func(cx *caseCtx)) (res result) {
	timeout := c.timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	start := time.Now()
	cx := &caseCtx{}
	cx.deadline = start.Add(timeout)
	setup(cx)
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopCase); !ok {
					cx.outcome = fail
					cx.reasons = append(cx.reasons, fmt.Sprintf("suite panic: %v\n%s", r, debug.Stack()))
				}
			}
		}()
		c.run(cx)
		for _, f := range cx.finish {
			f()
		}
	}()
	elapsed := time.Since(start)
	for i := len(cx.cleanups) - 1; i >= 0; i-- {
		cx.cleanups[i]()
	}
	reason := strings.Join(cx.reasons, "; ")
	if len(cx.info) > 0 {
		if reason != "" {
			reason += "; "
		}
		reason += strings.Join(cx.info, "; ")
	}
	return result{c: c, outcome: cx.outcome, reason: reason, elapsed: elapsed}
}

// runSuite runs every case that applies to s as a subtest of t, in order,
// and prints the table when asked to.
func runSuite(t *testing.T, title string, s side, cases []testCase, setup func(cx *caseCtx)) {
	var results []result
	for _, c := range cases {
		if c.only != both && c.only != s {
			continue
		}
		t.Run(c.id, func(t *testing.T) {
			r := runCase(c, setup)
			results = append(results, r)
			switch r.outcome {
			case fail:
				t.Errorf("%s %s (%s): %s", c.id, c.desc, c.rfcRef(), r.reason)
			case skipped:
				t.Skipf("%s %s: skipped: %s", c.id, c.desc, r.reason)
			case nonStrict:
				t.Logf("%s %s: non-strict: %s", c.id, c.desc, r.reason)
			}
		})
	}
	printTable(t, title, results)
}

// groupNames names the sections of the table.
var groupNames = map[string]string{
	"1":  "framing",
	"2":  "pings and pongs",
	"3":  "reserved bits",
	"4":  "reserved opcodes",
	"5":  "fragmentation",
	"6":  "UTF-8 handling",
	"7":  "close handling",
	"9":  "performance",
	"10": "auto-fragmentation",
	"12": "permessage-deflate (RFC 7692): compressed messages, refusals",
	"13": "permessage-deflate (RFC 7692): the parameters, negotiation",
	"H":  "opening handshake",
}

func groupOf(id string) string {
	g, _, _ := strings.Cut(id, ".")
	return g
}

// groupRank orders groups: numbered sections first, then H.
func groupRank(g string) int {
	if n, err := strconv.Atoi(g); err == nil {
		return n
	}
	return 1000
}

type tally [4]int // by outcome

func (n tally) String() string {
	return fmt.Sprintf("%d pass, %d non-strict, %d fail, %d skipped", n[pass], n[nonStrict], n[fail], n[skipped])
}

var tableMu sync.Mutex // the table file is shared by the targets

// printTable writes the results as a table grouped by section, to stdout
// under -v or TACHYON_CONFORMANCE_TABLE=1, and appended to the file that
// TACHYON_CONFORMANCE_TABLE names when it names one.
func printTable(t *testing.T, title string, results []result) {
	env := os.Getenv("TACHYON_CONFORMANCE_TABLE")
	toFile := env != "" && env != "0" && env != "1"
	if !testing.Verbose() && env != "1" && !toFile {
		return
	}
	var sb strings.Builder
	writeTable(&sb, title, results)
	tableMu.Lock()
	defer tableMu.Unlock()
	fmt.Print(sb.String())
	if toFile {
		f, err := os.OpenFile(env, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Errorf("table file: %v", err)
			return
		}
		defer f.Close()
		if _, err := io.WriteString(f, sb.String()); err != nil {
			t.Errorf("table file: %v", err)
		}
	}
}

func writeTable(w io.Writer, title string, results []result) {
	groups := map[string][]result{}
	var order []string
	for _, r := range results {
		g := groupOf(r.c.id)
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	sort.SliceStable(order, func(i, j int) bool { return groupRank(order[i]) < groupRank(order[j]) })

	fmt.Fprintf(w, "\n=== conformance: %s\n", title)
	// Column widths over every row, so that the sections line up.
	width := [5]int{len("ID"), len("Description"), len("RFC"), len("Result"), len("Time")}
	for _, r := range results {
		for i, cell := range [5]string{r.c.id, r.c.desc, r.c.rfc, r.outcome.String(), fmtDuration(r.elapsed)} {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	row := func(cells [5]string, reason string) {
		var sb strings.Builder
		for i, cell := range cells {
			sb.WriteString(cell)
			sb.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell)+2))
		}
		sb.WriteString(reason)
		fmt.Fprintln(w, strings.TrimRight(sb.String(), " "))
	}
	row([5]string{"ID", "Description", "RFC", "Result", "Time"}, "Reason")
	var total tally
	var elapsed time.Duration
	for _, g := range order {
		var n tally
		fmt.Fprintf(w, "-- section %s: %s\n", g, groupNames[g])
		for _, r := range groups[g] {
			n[r.outcome]++
			elapsed += r.elapsed
			row([5]string{r.c.id, r.c.desc, r.c.rfc, r.outcome.String(), fmtDuration(r.elapsed)}, oneLine(r.reason))
		}
		fmt.Fprintf(w, "   section %s: %s\n", g, n)
		for i := range total {
			total[i] += n[i]
		}
	}
	fmt.Fprintf(w, "%s: %d cases: %s; %s\n", title, len(results), total, fmtDuration(elapsed))
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// oneLine keeps a reason to one table row.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	const limit = 160
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
