package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tachyonws/tachyon/load"
)

// fakeRecords is a full run of the scenarios' cases, three rounds,
// with made-up results: server i does 1/(i+1) of the ceiling, and the 90%
// of the slow readers' case keep their throughput per connection.
func fakeRecords(scenarios string) []record {
	cfg := config{rounds: 3, idleConns: 9000, bcastConns: 1000, scenarios: strings.Split(scenarios, ",")}
	var recs []record
	for _, k := range cfg.cases() {
		for round := 1; round <= cfg.rounds; round++ {
			for i, s := range cfg.servers(k) {
				f := 1 / float64(i+1)
				r := &load.Result{Open: k.Conns, MsgsPerSec: 1e5 * f, MBPerSec: 1, P50us: 100 / f, P99us: 1000 / f, P999us: 3000 / f,
					Jain: 1, ServerCPU: 0.9, LoaderCPU: 0.8, BytesPerConn: 1024 / f, UpgradesPerSec: 9000 * f, CleanCloses: k.Conns}
				if k.Scenario == "slow" { // 100 stop reading; the others keep their share
					r.SlowReaders = 100
					r.MsgsPerSec *= 0.9
				}
				recs = append(recs, record{Server: s.name, Case: k, Round: round, Result: r})
			}
		}
	}
	return recs
}

// TestTables: every table has a row for every server, labelled with its
// library's version.
func TestTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tables.md")
	if err := writeTables(path, fakeRecords("echo,idle,broadcast,slow")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tables := strings.Split(string(b), "\n### ")[1:]
	if len(tables) != 10 { // summary, 6 echo, idle, broadcast, slow
		t.Fatalf("%d tables, want 10:\n%s", len(tables), b)
	}
	for _, tab := range tables {
		title, _, _ := strings.Cut(tab, "\n")
		for _, s := range servers {
			row := "\n| " + s.label() + " |"
			if n := strings.Count(tab, row); n < 1 {
				t.Errorf("%s: no row %q", title, row)
			}
		}
	}
	slow := tables[len(tables)-1]
	if !strings.HasPrefix(slow, "Slow readers") || !strings.Contains(slow, "| baseline msgs/s | kept |") {
		t.Errorf("no baseline and kept columns in the slow readers' table:\n%s", slow)
	}
	for _, s := range servers {
		_, row, _ := strings.Cut(slow, "\n| "+s.label()+" | ")
		row, _, _ = strings.Cut(row, "\n")
		if cells := strings.Split(row, " | "); len(cells) < 3 || cells[2] != "1.00×" {
			t.Errorf("slow readers: %s's row %q has not kept 1.00×", s.name, row)
		}
	}
	for _, want := range []string{"| gorilla v1.5.3 |", "| gobwas v1.5.0 |", "| gws v1.8.9 |", "| nbio v1.6.8 |", "| coder v1.8.15 |", "| ceiling |", "| tachyon |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no row label %q", want)
		}
	}
}

// TestTablesDeflate: the compressed echo (-scenarios deflate) has a table
// per size with a row for every server, n/a for those without
// permessage-deflate.
func TestTablesDeflate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tables.md")
	if err := writeTables(path, fakeRecords("deflate")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tables := strings.Split(string(b), "\n### ")[1:]
	if len(tables) != 2 {
		t.Fatalf("%d tables, want 2:\n%s", len(tables), b)
	}
	for _, tab := range tables {
		if !strings.HasPrefix(tab, "Compressed echo, ") {
			t.Errorf("table %.40q", tab)
		}
		for _, s := range servers {
			row := "\n| " + s.label() + " | "
			if !s.deflate {
				row += "n/a: no permessage-deflate"
			}
			if !strings.Contains(tab, row) {
				t.Errorf("no row %q in\n%s", row, tab)
			}
		}
	}
}

// TestCharts: the four charts are drawn.
func TestCharts(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("COMPARE_CHARTS_DIR"); d != "" {
		dir = d // to look at them
	}
	if err := writeCharts(dir, fakeRecords("echo,idle,broadcast,slow,deflate")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"throughput.png", "latency.png", "idle.png", "broadcast.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestMicroEveryLibrary: a micro-benchmark table has a row for every
// library, the ones that did not run marked n/a with the reason under the
// table (or "not run" when no reason is known), each with its version.
func TestMicroEveryLibrary(t *testing.T) {
	var in strings.Builder
	for run := range 3 {
		for _, lib := range []string{"tachyon", "gorilla", "gobwas", "coder", "gws"} {
			for _, size := range []string{"16B", "64KiB"} {
				fmt.Fprintf(&in, "BenchmarkDecode/op=text/size=%s/lib=%s-2   \t 1000\t %d ns/op\t 12.5 MB/s\t 0 B/op\t 0 allocs/op\n", size, lib, 100+run)
				fmt.Fprintf(&in, "BenchmarkPrepare/size=%s/lib=%s-2   \t 1000\t %d ns/op\t 12.5 MB/s\t 16 B/op\t 1 allocs/op\n", size, lib, 200+run)
			}
		}
	}
	var out strings.Builder
	if err := writeMicro(strings.NewReader(in.String()), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"#### Decode text",
		"| tachyon | 101 | 101 |",
		"| gorilla v1.5.3 | 101 | 101 |",
		"| nbio v1.6.8 | n/a | n/a |",
		"n/a, no public API for this: nbio: the parser runs inside the event loop.",
		"| coder v1.8.15 | 201 (1) | 201 (1) |", // Prepare: coder ran here, so it has numbers
		"| gws v1.8.9 | 201 (1) | 201 (1) |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	for _, tab := range strings.Split(got, "#### ")[1:] {
		for _, lib := range libraries {
			if !strings.Contains(tab, "\n| "+libLabel(lib)+" |") {
				t.Errorf("table %.20q has no row for %s", tab, lib)
			}
		}
	}
}
