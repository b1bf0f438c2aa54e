package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The micro-benchmarks of the bench module (go test -bench, run several
// times, interleaved, by ci/bench-compare.sh) as markdown tables: one per
// benchmark, a row per library, a column per size, ns/op medians with
// allocations; a library that exposes no such operation still has its
// row, of n/a, with the reason under the table. Peers are named with the
// versions bench/go.mod pins.

var benchLine = regexp.MustCompile(`^Benchmark([A-Za-z0-9]+)/(.*?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?(?:\s+(\d+) B/op)?(?:\s+(\d+) allocs/op)?`)

// notExposed names, per benchmark, the libraries with no public API for its
// operation and why: each gets a row of n/a in the table and the reason
// under it, so that no library is left out silently. Keep it in step with
// the benchmarks of bench/peers_test.go and bench/mask_test.go.
var notExposed = map[string][][2]string{
	"Mask": {
		{"gorilla", "masking is internal to the connection"},
		{"gws", "masking is internal to the connection"},
		{"nbio", "masking is internal to the connection"},
		{"coder", "masking is internal to the connection"},
	},
	"UTF8": {
		{"gorilla", "left to the application, which calls unicode/utf8 (the stdlib row)"},
		{"gws", "unicode/utf8 inside (the stdlib row)"},
		{"nbio", "unicode/utf8 inside (the stdlib row)"},
		{"coder", "left to the application, which calls unicode/utf8 (the stdlib row)"},
	},
	"HeaderParse": {
		{"gorilla", "internal to the reader"},
		{"gws", "internal to the reader"},
		{"nbio", "internal to the reader"},
		{"coder", "internal to the reader"},
	},
	"Decode":    {{"nbio", "the parser runs inside the event loop"}},
	"Encode":    {{"nbio", "the writer needs the engine"}},
	"Handshake": {{"nbio", "upgrades inside the engine"}},
	"Prepare":   {{"nbio", "no prepared frame"}, {"coder", "no prepared frame"}},
}

// libraries are the contenders every micro table has a row for, in the
// order of the rows that did not run; the benchmarks may add rows of their
// own (stdlib, copy, tachyon-generic).
var libraries = []string{"tachyon", "gorilla", "gobwas", "gws", "nbio", "coder"}

type micro struct {
	ns     []float64
	allocs float64
}

func writeMicro(in io.Reader, w io.Writer) error {
	data := map[string]map[string]map[string]*micro{} // bench → lib → size
	var benches []string
	libsOf := map[string][]string{}
	sizesOf := map[string][]string{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name, rest := m[1], m[2]
		size, lib, op := "", "", ""
		for _, part := range strings.Split(rest, "/") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "size":
				size = v
			case "lib":
				lib = v
			case "op":
				op = v
			}
		}
		if op != "" {
			name += " " + op
		}
		if size == "" {
			size = "request"
		}
		ns, _ := strconv.ParseFloat(m[4], 64)
		allocs, _ := strconv.ParseFloat(m[7], 64)
		if data[name] == nil {
			data[name] = map[string]map[string]*micro{}
			benches = append(benches, name)
		}
		if data[name][lib] == nil {
			data[name][lib] = map[string]*micro{}
			libsOf[name] = append(libsOf[name], lib)
		}
		x := data[name][lib][size]
		if x == nil {
			x = &micro{}
			data[name][lib][size] = x
			if !slices.Contains(sizesOf[name], size) {
				sizesOf[name] = append(sizesOf[name], size)
			}
		}
		x.ns = append(x.ns, ns)
		x.allocs = allocs
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, name := range benches {
		sizes := sizesOf[name]
		fmt.Fprintf(w, "#### %s — ns/op, median of runs (allocations per op in brackets when not 0)\n\n", name)
		fmt.Fprintf(w, "| library | %s |\n|---|%s\n", strings.Join(sizes, " | "), strings.Repeat("---:|", len(sizes)))
		base, _, _ := strings.Cut(name, " ")
		var reasons []string   // why a library has no row of numbers
		var libsFor [][]string // the libraries of each reason
		for _, lib := range libsOf[name] {
			fmt.Fprintf(w, "| %s |", libLabel(lib))
			for _, s := range sizes {
				x := data[name][lib][s]
				if x == nil {
					fmt.Fprintf(w, " – |")
					continue
				}
				sort.Float64s(x.ns)
				v := x.ns[len(x.ns)/2]
				cell := fmt.Sprintf("%.3g", v)
				if v >= 1000 {
					cell = thousands(v)
				}
				if x.allocs > 0 {
					cell += fmt.Sprintf(" (%g)", x.allocs)
				}
				fmt.Fprintf(w, " %s |", cell)
			}
			fmt.Fprintln(w)
		}
		for _, lib := range libraries {
			if slices.Contains(libsOf[name], lib) {
				continue
			}
			cell, why := "not run", ""
			for _, ne := range notExposed[base] {
				if ne[0] == lib {
					cell, why = "n/a", ne[1]
				}
			}
			fmt.Fprintf(w, "| %s |%s\n", libLabel(lib), strings.Repeat(" "+cell+" |", len(sizes)))
			if why == "" {
				continue
			}
			if i := slices.Index(reasons, why); i >= 0 {
				libsFor[i] = append(libsFor[i], lib)
			} else {
				reasons = append(reasons, why)
				libsFor = append(libsFor, []string{lib})
			}
		}
		if len(reasons) > 0 {
			var say []string
			for i, why := range reasons {
				say = append(say, strings.Join(libsFor[i], ", ")+": "+why)
			}
			fmt.Fprintf(w, "\nn/a, no public API for this: %s.\n", strings.Join(say, "; "))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// microTables converts the go test output in path into tables-micro.md in
// dir.
func microTables(path, dir string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dir + "/tables-micro.md")
	if err != nil {
		return err
	}
	defer out.Close()
	return writeMicro(in, out)
}
