package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/tachyonws/tachyon/load"
)

// summary is the medians of one server's rounds of one case.
type summary struct {
	server string
	k      kase
	n      int // rounds with a result
	med    func(f func(*load.Result) float64) float64
	errors int
	failed int // rounds without a result
}

// summarize groups recs by case and server, in the order of servers.
func summarize(recs []record) (cases []kase, by map[kase]map[string]*summary) {
	by = map[kase]map[string]*summary{}
	results := map[kase]map[string][]*load.Result{}
	for _, r := range recs {
		if by[r.Case] == nil {
			by[r.Case] = map[string]*summary{}
			results[r.Case] = map[string][]*load.Result{}
			cases = append(cases, r.Case)
		}
		s := by[r.Case][r.Server]
		if s == nil {
			s = &summary{server: r.Server, k: r.Case}
			by[r.Case][r.Server] = s
		}
		if r.Result == nil {
			s.failed++
			continue
		}
		s.n++
		s.errors += r.Result.Errors
		results[r.Case][r.Server] = append(results[r.Case][r.Server], r.Result)
	}
	for k, m := range by {
		for name, s := range m {
			rs := results[k][name]
			s.med = func(f func(*load.Result) float64) float64 { return median(rs, f) }
		}
	}
	return cases, by
}

func median(rs []*load.Result, f func(*load.Result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func msgs(r *load.Result) float64 { return r.MsgsPerSec }

func us(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2f s", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.2f ms", x/1e3)
	}
	return fmt.Sprintf("%.0f µs", x)
}

func ratio(a, b float64) string {
	if b <= 0 || a <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func writeTables(path string, recs []record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cases, by := summarize(recs)
	rounds := 0
	for _, r := range recs {
		rounds = max(rounds, r.Round)
	}
	w := f
	fmt.Fprintf(w, "Medians of %d rounds per case; each round runs every server in turn.\n\n", rounds)
	fmt.Fprintf(w, "Servers: ")
	var vs []string
	for _, s := range servers {
		vs = append(vs, fmt.Sprintf("**%s** (%s)", s.name, s.version))
	}
	fmt.Fprintf(w, "%s.\n\n", strings.Join(vs, ", "))

	var echo []kase
	for _, k := range cases {
		if k.Scenario == "echo" {
			echo = append(echo, k)
		}
	}
	slices.SortFunc(echo, func(a, b kase) int {
		if a.Conns != b.Conns {
			return a.Conns - b.Conns
		}
		if a.Size != b.Size {
			return a.Size - b.Size
		}
		return a.Inflight - b.Inflight
	})
	if len(echo) > 0 {
		writeEchoSummary(w, echo, by)
		for _, k := range echo {
			writeEcho(w, k, by[k])
		}
	}
	for _, k := range cases {
		switch k.Scenario {
		case "idle":
			writeIdle(w, k, by[k])
		case "broadcast":
			writeBroadcast(w, k, by[k])
		case "deflate":
			writeDeflate(w, k, by[k])
		case "slow":
			writeSlow(w, k, by[k], by[kase{"slow-base", k.Size, k.Inflight, k.Conns}])
		}
	}
	return nil
}

// writeEchoSummary is the headline: msgs/s of every server in every echo
// case, as a share of the ceiling, and by server CPU.
func writeEchoSummary(w io.Writer, echo []kase, by map[kase]map[string]*summary) {
	fmt.Fprintf(w, "### Echo: throughput against the ceiling\n\n")
	fmt.Fprintf(w, "Messages per second as a share of `ceiling` in the same rounds (100 connections, text).\n\n")
	fmt.Fprintf(w, "| server |")
	for _, k := range echo {
		fmt.Fprintf(w, " %s ×%d%s |", sizeName(k.Size), k.Inflight, connsNote(k))
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---:|", len(echo)))
	ran := func(name string) bool {
		for _, k := range echo {
			if by[k][name] != nil {
				return true
			}
		}
		return false
	}
	for _, s := range servers {
		if !ran(s.name) {
			continue
		}
		fmt.Fprintf(w, "| %s |", s.label())
		for _, k := range echo {
			m, c := by[k][s.name], by[k]["ceiling"]
			if m == nil || m.n == 0 || c == nil || c.n == 0 {
				fmt.Fprintf(w, " – |")
				continue
			}
			fmt.Fprintf(w, " %s |", ratio(m.med(msgs), c.med(msgs)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Messages per second of server CPU (msgs/s ÷ server cores), thousands: what a server would do with a whole core to itself; it does not depend on whether the loader kept up.\n\n")
	fmt.Fprintf(w, "| server |")
	for _, k := range echo {
		fmt.Fprintf(w, " %s ×%d%s |", sizeName(k.Size), k.Inflight, connsNote(k))
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---:|", len(echo)))
	for _, s := range servers {
		if !ran(s.name) {
			continue
		}
		fmt.Fprintf(w, "| %s |", s.label())
		for _, k := range echo {
			m := by[k][s.name]
			if m == nil || m.n == 0 {
				fmt.Fprintf(w, " – |")
				continue
			}
			if v := m.med(perCPU); v > 0 {
				fmt.Fprintf(w, " %.0fk |", v/1e3)
			} else {
				fmt.Fprintf(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func perCPU(r *load.Result) float64 {
	if r.ServerCPU <= 0 {
		return 0
	}
	return r.MsgsPerSec / r.ServerCPU
}

func writeEcho(w io.Writer, k kase, m map[string]*summary) {
	fmt.Fprintf(w, "### Echo, %s text, %d in flight, %d connections\n\n", sizeName(k.Size), k.Inflight, k.Conns)
	writeEchoRows(w, m)
	fmt.Fprintln(w)
}

// writeEchoRows writes the head of an echo table and a row for each server
// in m.
func writeEchoRows(w io.Writer, m map[string]*summary) {
	fmt.Fprintf(w, "| server | msgs/s | MB/s | p50 | p99 | p99.9 | Jain | server CPU | server µs/msg | loader CPU | ×ceiling | ×tachyon | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var ceil, tach float64
	if c := m["ceiling"]; c != nil && c.n > 0 {
		ceil = c.med(msgs)
	}
	if t := m["tachyon"]; t != nil && t.n > 0 {
		tach = t.med(msgs)
	}
	for _, s := range servers {
		x := m[s.name]
		if x == nil {
			continue
		}
		if x.n == 0 {
			fmt.Fprintf(w, "| %s | failed in %d rounds |||||||||||| \n", s.label(), x.failed)
			continue
		}
		v := x.med(msgs)
		loaderCPU, serverCPU := x.med(func(r *load.Result) float64 { return r.LoaderCPU }), x.med(func(r *load.Result) float64 { return r.ServerCPU })
		warn := ""
		if serverCPU > 0 && loaderCPU >= serverCPU {
			warn = " ⚠"
		}
		fmt.Fprintf(w, "| %s | %s | %.1f | %s | %s | %s | %.3f | %.2f | %.2f | %.2f%s | %s | %s | %d |\n", s.label(), thousands(v),
			x.med(func(r *load.Result) float64 { return r.MBPerSec }),
			us(x.med(func(r *load.Result) float64 { return r.P50us })),
			us(x.med(func(r *load.Result) float64 { return r.P99us })),
			us(x.med(func(r *load.Result) float64 { return r.P999us })),
			x.med(func(r *load.Result) float64 { return r.Jain }),
			serverCPU, x.med(func(r *load.Result) float64 { return r.ServerUsPerMsg }),
			loaderCPU, warn, ratio(v, ceil), ratio(v, tach), x.errors)
	}
}

// writeDeflate writes a compressed echo case: the echo table's columns
// (no ceiling: it does not compress) and a row for each server that has no
// permessage-deflate.
func writeDeflate(w io.Writer, k kase, m map[string]*summary) {
	fmt.Fprintf(w, "### Compressed echo, %s JSON-like text, %d in flight, %d connections\n\n", sizeName(k.Size), k.Inflight, k.Conns)
	fmt.Fprintf(w, "permessage-deflate without context takeover: the loader sends messages compressed once ahead of time; every server inflates each message and compresses each echo, at its library's default level.\n\n")
	writeEchoRows(w, m)
	for _, s := range servers {
		if !s.deflate {
			fmt.Fprintf(w, "| %s | n/a: no permessage-deflate |||||||||||| \n", s.label())
		}
	}
	fmt.Fprintln(w)
}

func writeIdle(w io.Writer, k kase, m map[string]*summary) {
	fmt.Fprintf(w, "### Idle: %s connections held\n\n", thousands(float64(k.Conns)))
	fmt.Fprintf(w, "| server | open | server memory per connection | upgrades/s | clean closes | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|\n")
	for _, s := range servers {
		x := m[s.name]
		if x == nil {
			continue
		}
		if x.n == 0 {
			fmt.Fprintf(w, "| %s | failed in %d rounds ||||| \n", s.label(), x.failed)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.2f KiB | %s | %s | %d |\n", s.label(),
			thousands(x.med(func(r *load.Result) float64 { return float64(r.Open) })),
			x.med(func(r *load.Result) float64 { return r.BytesPerConn })/1024,
			thousands(x.med(func(r *load.Result) float64 { return r.UpgradesPerSec })),
			thousands(x.med(func(r *load.Result) float64 { return float64(r.CleanCloses) })), x.errors)
	}
	fmt.Fprintln(w)
}

func writeBroadcast(w io.Writer, k kase, m map[string]*summary) {
	fmt.Fprintf(w, "### Broadcast: one sender, %s receivers, %s, %d messages in flight\n\n", thousands(float64(k.Conns)), sizeName(k.Size), k.Inflight)
	fmt.Fprintf(w, "Deliveries per server CPU-second (deliveries/s ÷ server cores) is the figure to compare: the sender is paced by the deliveries, so deliveries/s also depends on the loader. ×ceiling is its share of `ceiling`'s (bench/cmd/ceiling on /broadcast: a frame built once, one write per receiver per wake-up).\n\n")
	fmt.Fprintf(w, "| server | deliveries/s | per server CPU-s | ×ceiling | p50 | p99 | p99.9 | Jain | server CPU | server µs/delivery | loader CPU | missing | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var ceil float64
	if c := m["ceiling"]; c != nil && c.n > 0 {
		ceil = c.med(perCPU)
	}
	for _, s := range servers {
		x := m[s.name]
		if x == nil {
			if !s.broadcast {
				fmt.Fprintf(w, "| %s | n/a: no broadcast |||||||||||| \n", s.label())
			}
			continue
		}
		if x.n == 0 {
			fmt.Fprintf(w, "| %s | failed in %d rounds |||||||||||| \n", s.label(), x.failed)
			continue
		}
		pc := x.med(perCPU)
		per := "–"
		if pc > 0 {
			per = fmt.Sprintf("%.0fk", pc/1e3)
		}
		loaderCPU, serverCPU := x.med(func(r *load.Result) float64 { return r.LoaderCPU }), x.med(func(r *load.Result) float64 { return r.ServerCPU })
		warn := ""
		if serverCPU > 0 && loaderCPU >= serverCPU {
			warn = " ⚠"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.3f | %.2f | %.2f | %.2f%s | %s | %d |\n", s.label(),
			thousands(x.med(msgs)), per, ratio(pc, ceil),
			us(x.med(func(r *load.Result) float64 { return r.P50us })),
			us(x.med(func(r *load.Result) float64 { return r.P99us })),
			us(x.med(func(r *load.Result) float64 { return r.P999us })),
			x.med(func(r *load.Result) float64 { return r.Jain }),
			serverCPU,
			x.med(func(r *load.Result) float64 { return r.ServerUsPerMsg }),
			loaderCPU, warn,
			thousands(x.med(func(r *load.Result) float64 { return float64(r.Missing) })), x.errors)
	}
	fmt.Fprintln(w)
}

// writeSlow writes the slow readers' table; base (nil when it did not run)
// holds the same echo without slow readers.
func writeSlow(w io.Writer, k kase, m, base map[string]*summary) {
	fmt.Fprintf(w, "### Slow readers: %s connections, %s echoes, 10%% stop reading and keep writing\n\n", thousands(float64(k.Conns)), sizeName(k.Size))
	fmt.Fprintf(w, "The figures are the other 90%%'s. **Kept** is their throughput per connection as a share of what every connection got in the same echo without slow readers (the baseline, run just before); server memory: resident set at the start of the window and at its peak.\n\n")
	fmt.Fprintf(w, "| server | msgs/s | baseline msgs/s | kept | p50 | p99 | p99.9 | Jain | longest silence | server RSS start | server RSS peak | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range servers {
		x := m[s.name]
		if x == nil {
			continue
		}
		if x.n == 0 {
			fmt.Fprintf(w, "| %s | failed in %d rounds ||||||||||| \n", s.label(), x.failed)
			continue
		}
		baseMsgs, kept := "–", "–"
		if b := base[s.name]; b != nil && b.n > 0 {
			// Per connection: the others are Open - SlowReaders of them.
			bv := b.med(func(r *load.Result) float64 { return r.MsgsPerSec / float64(max(r.Open, 1)) })
			v := x.med(func(r *load.Result) float64 { return r.MsgsPerSec / float64(max(r.Open-r.SlowReaders, 1)) })
			baseMsgs = thousands(b.med(msgs))
			if bv > 0 {
				kept = fmt.Sprintf("%.2f×", v/bv)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.3f | %.0f ms | %.0f MiB | %.0f MiB | %d |\n", s.label(),
			thousands(x.med(msgs)), baseMsgs, kept,
			us(x.med(func(r *load.Result) float64 { return r.P50us })),
			us(x.med(func(r *load.Result) float64 { return r.P99us })),
			us(x.med(func(r *load.Result) float64 { return r.P999us })),
			x.med(func(r *load.Result) float64 { return r.Jain }),
			x.med(func(r *load.Result) float64 { return r.LongestSilenceMs }),
			x.med(func(r *load.Result) float64 { return float64(r.RSSBeforeKB) })/1024,
			x.med(func(r *load.Result) float64 { return float64(r.RSSPeakKB) })/1024, x.errors)
	}
	fmt.Fprintln(w)
}
