package engine

import "bytes"

// Path returns the path of the request target, without the query, as sent
// (percent-encoding kept): "/chat" for "GET /chat?room=1". For an
// absolute-form target ("http://host/chat?room=1") it is the path after the
// authority, "/" when there is none. It points into the request's buffer,
// like the fields: compare it where it is, string(r.Path()) == "/chat"
// allocates nothing.
func (r *Request) Path() []byte {
	p := r.RequestURI
	if i := bytes.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if len(p) > 0 && p[0] != '/' {
		// absolute-form (RFC 9112 section 3.2.2): scheme://authority/path
		if i := bytes.Index(p, []byte("://")); i >= 0 {
			p = p[i+3:]
			if j := bytes.IndexByte(p, '/'); j >= 0 {
				return p[j:]
			}
			return []byte("/")
		}
	}
	return p
}

// Query returns the value of the first query parameter called name,
// percent-decoded ('+' as a space), and whether it is there: for
// "/chat?room=lobby&name=ann", Query("room") is "lobby". A value that is
// not valid percent-encoding is returned as sent.
func (r *Request) Query(name string) (string, bool) {
	_, q, ok := bytes.Cut(r.RequestURI, []byte("?"))
	if !ok {
		return "", false
	}
	for len(q) > 0 {
		var kv []byte
		kv, q, _ = bytes.Cut(q, []byte("&"))
		k, v, _ := bytes.Cut(kv, []byte("="))
		if unescape(k) == name {
			return unescape(v), true
		}
	}
	return "", false
}

// unescape decodes a query component: %XX and '+'. Malformed escapes are
// kept as they are.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '%') < 0 && bytes.IndexByte(b, '+') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
