package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tachyonws/tachyon/internal/wstest"
	"github.com/tachyonws/tachyon/load"
)

// The loader itself is tested in package load; these tests hold the
// command's flags and its -json line, which ci/bench-echo.sh parses.

// testServer serves /echo, /broadcast, /idle (an echo too) and /forbidden
// (403) on loopback until the test ends.
func testServer(t *testing.T) (url string) { return wstest.Server(t, nil) }

// runJSON runs `tachyon load` with -json and decodes the result.
func runJSON(t *testing.T, args ...string) (load.Result, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runLoad(context.Background(), append(args, "-json", "-procs", "2"), &out, &errOut)
	var res load.Result
	if out.Len() > 0 {
		// The keys ci/bench-echo.sh and bench/ read.
		var raw map[string]any
		if jerr := json.Unmarshal(out.Bytes(), &raw); jerr != nil {
			t.Fatalf("bad JSON %q: %v", out.String(), jerr)
		}
		for _, k := range []string{"mode", "open", "size", "inflight", "msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "jain", "longest_silence_ms", "errors"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("JSON line lacks %q: %s", k, out.String())
			}
		}
		if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
			t.Fatalf("bad JSON %q: %v", out.String(), jerr)
		}
	}
	return res, errOut.String(), err
}

func TestLoadEcho(t *testing.T) {
	ios := []string{"net"}
	if runtime.GOOS == "linux" {
		ios = append(ios, "epoll")
	}
	for _, io := range ios {
		t.Run("io="+io, func(t *testing.T) { testLoadEcho(t, io) })
	}
}

func testLoadEcho(t *testing.T, io string) {
	url := testServer(t)
	res, report, err := runJSON(t, "-url", url+"/echo", "-io", io, "-c", "8", "-inflight", "4", "-size", "100", "-type", "text", "-d", "600ms", "-warmup", "200ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + report)
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
	if !strings.Contains(report, "msgs/s") || !strings.Contains(report, "Jain") {
		t.Fatalf("report lacks its lines:\n%s", report)
	}
}

func TestLoadBroadcast(t *testing.T) {
	url := testServer(t)
	res, report, err := runJSON(t, "-url", url+"/broadcast", "-mode", "broadcast", "-c", "5", "-d", "500ms", "-warmup", "100ms", "-interval", "10ms", "-size", "64")
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + report)
	if res.Open != 5 || res.Errors != 0 || res.Sent < 10 {
		t.Fatalf("open %d, errors %d %v, sent %d", res.Open, res.Errors, res.ErrorKinds, res.Sent)
	}
	if res.Messages != res.Sent*5 || res.Missing != 0 || res.Latencies != uint64(res.Messages) {
		t.Fatalf("deliveries %d of %d sent to 5, %d missing, %d latencies", res.Messages, res.Sent, res.Missing, res.Latencies)
	}
}

func TestLoadIdle(t *testing.T) {
	url := testServer(t)
	res, report, err := runJSON(t, "-url", url+"/idle", "-mode", "idle", "-c", "50", "-d", "100ms", "-pid", strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + report)
	if res.Open != 50 || res.CleanCloses != 50 || res.Errors != 0 || res.UpgradesPerSec <= 0 {
		t.Fatalf("open %d, clean closes %d, errors %d %v, %v upgrades/s", res.Open, res.CleanCloses, res.Errors, res.ErrorKinds, res.UpgradesPerSec)
	}
	if res.RSSBeforeKB <= 0 || len(res.RSSAfterKB) != 2 {
		t.Fatalf("RSS %d before, %v after", res.RSSBeforeKB, res.RSSAfterKB)
	}
}

func TestLoadErrors(t *testing.T) {
	url := testServer(t)
	res, report, err := runJSON(t, "-url", url+"/forbidden", "-c", "3", "-d", "100ms")
	if err == nil || res.Open != 0 || res.Errors != 3 {
		t.Fatalf("err %v, open %d, errors %d", err, res.Open, res.Errors)
	}
	if k := "handshake: refused with HTTP 403"; !strings.Contains(report, k) {
		t.Fatalf("report does not say %q:\n%s", k, report)
	}
	// A port nothing listens on: the test server's, once closed.
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := "ws" + strings.TrimPrefix(srv.URL, "http")
	srv.Close()
	res, report, err = runJSON(t, "-url", dead, "-c", "2", "-d", "100ms")
	if err == nil || res.Errors != 2 || !strings.Contains(report, "connect: connection refused") {
		t.Fatalf("err %v, errors %d, report:\n%s", err, res.Errors, report)
	}
	if _, _, err := runJSON(t, "-url", "http://x/"); err == nil {
		t.Fatal("http:// URL accepted")
	}
}
