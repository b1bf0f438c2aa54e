package demo

import (
	"strings"
	"testing"
)

// The page lays out on a phone (viewport), charts messages per second and
// marks the stats stale when /stats stops answering.
func TestPage(t *testing.T) {
	page := string(Page)
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width`,
		`<canvas id="chart"`,
		`classList.add("stale")`,
		`"/chat?name="`,
		`JSON.parse(data).members`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

func TestCleanName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ann", "ann"},
		{"  ann b ", "ann b"},
		{"*admin", "admin"},
		{"{x}", "x}"},
		{"a\x00b\nc", "abc"},
		{"\xffok", "ok"},
		{strings.Repeat("é", 30), strings.Repeat("é", maxName)},
		{"", ""},
	} {
		if got := cleanName(c.in); got != c.want {
			t.Errorf("cleanName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
