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
// allocations, and a line naming the libraries that expose no such
// operation.

var benchLine = regexp.MustCompile(`^Benchmark([A-Za-z0-9]+)/(.*?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?(?:\s+(\d+) B/op)?(?:\s+(\d+) allocs/op)?`)

// notExposed mirrors the bench package's notExposed (a _test.go file the
// command cannot import): the libraries with no public API for an operation.
var notExposed = map[string]string{
	"Mask":        "gorilla, gws, nbio, coder (masking is internal to their connections)",
	"UTF8":        "gorilla and coder leave it to the application; gws and nbio call unicode/utf8 (all: the stdlib row)",
	"HeaderParse": "gorilla, gws, nbio, coder (internal to their readers)",
	"Decode":      "nbio (its parser runs inside its event loop)",
	"Encode":      "nbio (its writer needs its engine)",
	"Handshake":   "nbio (upgrades inside its engine)",
	"Prepare":     "nbio, coder (no prepared frame)",
}

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
		for _, lib := range libsOf[name] {
			fmt.Fprintf(w, "| %s |", lib)
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
		base, _, _ := strings.Cut(name, " ")
		if ne, ok := notExposed[base]; ok {
			fmt.Fprintf(w, "\nNo public API for this: %s.\n", ne)
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
