package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestPathQuery(t *testing.T) {
	for _, c := range []struct {
		uri, path   string
		name, value string
		found       bool
	}{
		{"/chat?room=lobby&name=ann", "/chat", "room", "lobby", true},
		{"/chat?room=lobby&name=ann", "/chat", "name", "ann", true},
		{"/chat?room=a%20b+c", "/chat", "room", "a b c", true},
		{"/chat?room=%zz", "/chat", "room", "%zz", true},
		{"/chat?room=%4", "/chat", "room", "%4", true},
		{"/chat?room", "/chat", "room", "", true},
		{"/chat", "/chat", "room", "", false},
		{"/", "/", "x", "", false},
		{"http://example.com/a/b?x=1", "/a/b", "x", "1", true},
		{"http://example.com", "/", "x", "", false},
		{"/p?&&=&x=2", "/p", "x", "2", true},
	} {
		r := &Request{RequestURI: []byte(c.uri)}
		if p := string(r.Path()); p != c.path {
			t.Errorf("%q: Path = %q, want %q", c.uri, p, c.path)
		}
		v, ok := r.Query(c.name)
		if v != c.value || ok != c.found {
			t.Errorf("%q: Query(%q) = %q, %v; want %q, %v", c.uri, c.name, v, ok, c.value, c.found)
		}
	}
}

func TestCloseErrorMessage(t *testing.T) {
	for _, c := range []struct {
		err  CloseError
		want string
	}{
		{CloseError{1000, "bye"}, "engine: connection closed: 1000 normal closure: bye"},
		{CloseError{4000, "game over"}, "engine: connection closed: private code 4000: game over"},
		{CloseError{3001, ""}, "engine: connection closed: registered code 3001"},
		{CloseError{1006, ""}, "engine: connection closed: 1006 abnormal closure"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%d: %q, want %q", c.err.Code, got, c.want)
		}
	}
}

// The Upgrader's hooks see the *http.Request, and the client's error for a
// refused origin is the server's sentinel under errors.Is.
func TestUpgraderHTTPHooks(t *testing.T) {
	up := &Upgrader{
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://ok.example" },
		Accept: func(r *http.Request) ([][2]string, error) {
			if r.URL.Query().Get("token") != "t" {
				return nil, &HandshakeError{http.StatusUnauthorized, "no token"}
			}
			return [][2]string{{"X-Path", r.URL.Path}}, nil
		},
	}
	errs := make(chan error, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, BaseHandler{})
		errs <- err
		if err == nil {
			_ = c.Close(StatusNormalClosure, "")
			_ = c.Serve()
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/room"
	dial := func(origin, query string) error {
		c, err := Dial(context.Background(), url+query, BaseHandler{}, &DialOptions{Header: [][2]string{{"Origin", origin}}})
		if err == nil {
			_ = c.Serve()
		}
		return err
	}

	err := dial("https://evil.example", "?token=t")
	if !errors.Is(err, ErrForbiddenOrigin) || HTTPStatus(err) != http.StatusForbidden {
		t.Errorf("foreign origin: Dial = %v, want errors.Is ErrForbiddenOrigin, 403", err)
	}
	if err := <-errs; !errors.Is(err, ErrForbiddenOrigin) {
		t.Errorf("foreign origin: Upgrade = %v", err)
	}
	err = dial("https://ok.example", "")
	if HTTPStatus(err) != http.StatusUnauthorized || errors.Is(err, ErrForbiddenOrigin) {
		t.Errorf("no token: Dial = %v, want 401", err)
	}
	<-errs
	if err := dial("https://ok.example", "?token=t"); err != nil {
		t.Errorf("good request: Dial = %v", err)
	}
	if err := <-errs; err != nil {
		t.Errorf("good request: Upgrade = %v", err)
	}
}
