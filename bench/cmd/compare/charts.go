package main

import (
	"image/color"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/tachyonws/tachyon/load"
)

// writeCharts draws, from the medians: throughput against the ceiling by
// payload and in-flight count (throughput.png, the README's headline),
// latency percentiles (p50, p99, p99.9) at 16 in flight (latency.png), memory per idle
// connection (idle.png) and broadcast deliveries per server CPU-second
// (broadcast.png).
func writeCharts(dir string, recs []record) error {
	cases, by := summarize(recs)
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
		var labels []string
		for _, k := range echo {
			labels = append(labels, sizeName(k.Size)+" ×"+itoa(k.Inflight)+connsNote(k))
		}
		val := func(s string, k kase) float64 {
			m, c := by[k][s], by[k]["ceiling"]
			if m == nil || m.n == 0 || c == nil || c.n == 0 || c.med(msgs) == 0 {
				return 0
			}
			return m.med(msgs) / c.med(msgs)
		}
		if err := grouped(filepath.Join(dir, "throughput.png"), "Echo throughput, share of the ceiling (100 connections; payload × in flight)",
			"msgs/s ÷ ceiling's", labels, echo, val); err != nil {
			return err
		}
		// Latency: p50, p99 and p99.9 of every case with 16 in flight, a
		// group each (a kase per group, the percentile picked by position).
		pcts := []struct {
			name string
			f    func(r *load.Result) float64
		}{
			{"p50", func(r *load.Result) float64 { return r.P50us }},
			{"p99", func(r *load.Result) float64 { return r.P99us }},
			{"p99.9", func(r *load.Result) float64 { return r.P999us }},
		}
		var hi []kase
		var hl []string
		var pick []int
		for _, k := range echo {
			if k.Inflight == 16 && k.Conns == 100 {
				for i, p := range pcts {
					hi = append(hi, k)
					hl = append(hl, sizeName(k.Size)+" "+p.name)
					pick = append(pick, i)
				}
			}
		}
		group := 0
		lat := func(s string, k kase) float64 {
			m := by[k][s]
			if m == nil || m.n == 0 {
				return 0
			}
			return m.med(pcts[pick[group]].f) / 1e3
		}
		if len(hi) > 0 {
			if err := groupedBy(filepath.Join(dir, "latency.png"), "Echo latency percentiles, 16 in flight, 100 connections (lower is better)",
				"ms", hl, hi, func(g int) { group = g }, lat); err != nil {
				return err
			}
		}
	}
	for _, k := range cases {
		switch k.Scenario {
		case "idle":
			v := func(s string, k kase) float64 {
				m := by[k][s]
				if m == nil || m.n == 0 {
					return 0
				}
				return m.med(func(r *load.Result) float64 { return r.BytesPerConn }) / 1024
			}
			if err := grouped(filepath.Join(dir, "idle.png"), "Server memory per idle connection, "+thousands(float64(k.Conns))+" connections (lower is better)",
				"KiB", []string{"idle"}, []kase{k}, v); err != nil {
				return err
			}
		case "broadcast":
			v := func(s string, k kase) float64 {
				m := by[k][s]
				if m == nil || m.n == 0 {
					return 0
				}
				return m.med(perCPU) / 1e3
			}
			if err := grouped(filepath.Join(dir, "broadcast.png"), "Broadcast deliveries per server CPU-second, 1 sender → "+thousands(float64(k.Conns))+" receivers, "+sizeName(k.Size),
				"thousands", []string{"broadcast"}, []kase{k}, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// grouped draws one group of bars per case, one bar per server.
func grouped(path, title, ylabel string, labels []string, ks []kase, val func(server string, k kase) float64) error {
	return groupedBy(path, title, ylabel, labels, ks, func(int) {}, val)
}

// groupedBy is grouped with at(j) called before val is asked about the
// j-th group, for charts whose groups share a case.
func groupedBy(path, title, ylabel string, labels []string, ks []kase, at func(group int), val func(server string, k kase) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = false
	var names []string
	for _, s := range servers {
		for j, k := range ks {
			at(j)
			if val(s.name, k) > 0 {
				names = append(names, s.name)
				break
			}
		}
	}
	w := vg.Points(min(14, 84/float64(max(len(names), 1))))
	for i, name := range names {
		vs := make(plotter.Values, len(ks))
		for j, k := range ks {
			at(j)
			vs[j] = val(name, k)
		}
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return err
		}
		b.LineStyle.Width = 0
		switch name {
		case "ceiling":
			b.Color = color.Gray{Y: 0xa0}
		case "tachyon":
			b.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
		default:
			b.Color = plotutil.Color(i) // 0 and 1 (red) are taken by ceiling and tachyon
		}
		b.Offset = w * vg.Length(float64(i)-float64(len(names)-1)/2)
		p.Add(b)
		p.Legend.Add(name, b)
	}
	p.NominalX(labels...)
	p.Y.Min = 0
	p.Y.Max *= 1.3 // room for the legend
	p.Add(plotter.NewGrid())
	return p.Save(vg.Length(max(6, 1.4*float64(len(ks))+2))*vg.Inch, 4*vg.Inch, path)
}

func itoa(n int) string { return thousands(float64(n)) }
