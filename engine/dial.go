package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DialOptions configures Dial. The zero value (or nil) dials with defaults.
type DialOptions struct {
	// Header lines added to the handshake request (Origin, Cookie,
	// Authorization, ...).
	Header [][2]string
	// Protocols are the subprotocols offered, in order of preference.
	Protocols []string
	// TLSConfig is used for wss:// URLs; nil means a default config. Its
	// ServerName, when empty, is set from the URL's host (SNI).
	TLSConfig *tls.Config
	// Dialer dials the transport; nil means a zero net.Dialer.
	Dialer *net.Dialer
	// Path is the resource requested over a ws+unix:// socket, whose URL
	// path names the socket file; empty means "/". (ws4py allows the same.)
	Path string
	// Host overrides the Host header; empty means the URL's host
	// ("localhost" for ws+unix://).
	Host string
	// HandshakeTimeout bounds the dial and the handshake, on top of the
	// context; zero means none.
	HandshakeTimeout time.Duration
	// Compression, when set, offers permessage-deflate (RFC 7692) and
	// uses it when the server accepts; nil, the default, offers nothing.
	// Not offered when Config.Stream is set. Cost (details on
	// Compression): without context takeover the connection keeps no
	// compression state and borrows a pooled compressor (0.8 MiB at level
	// 1) or decompressor (about 40 KiB) per message; with ContextTakeover
	// it keeps two windows of 2^bits bytes. CPU: about 5 µs to compress or
	// inflate a 1 KiB message, 20 to 45 µs for 16 KiB of JSON, at level 1.
	Compression *Compression
	// Config holds the connection's limits.
	Config Config
	// CloseTimeout bounds the wait for the server's close after ours;
	// zero means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Liveness holds the heartbeat and time limits of the connection, the
	// same options as the server side's (Upgrader.Liveness): a zero field
	// takes its default (a ping after 30 s of silence, closed with 1001
	// after 75 s without a byte from the server, a message given 60 s),
	// a negative one turns that check off. TCPKeepAlive is not used: the
	// Dialer's KeepAlive is. The connection must be read (Serve, or Next
	// and tachyon.Conn.Read) for the pings and the close to be sent.
	Liveness Liveness
}

// ErrBadURL is returned by Dial for a URL whose scheme is not ws, wss or
// ws+unix, or that lacks a host or socket path.
var ErrBadURL = errors.New("engine: Dial: URL must be ws://host[:port]/path, wss://... or ws+unix:///path/to.sock")

// Dial opens a client connection: ws://host[:port]/path?query,
// wss://... (crypto/tls, with SNI), or ws+unix:///path/to.sock (the resource
// path set by DialOptions.Path). ctx bounds the dial and the handshake and
// cancels them; once Dial returns, the connection outlives ctx. The returned
// NetConn is ready for Serve, which calls h.OnOpen first; with a nil h it
// is in pull mode, read with Next (tachyon.Dial does). It is under the
// DialOptions.Liveness checks until it ends, so it must be served (or, in
// pull mode, read until it ends, or closed with CloseNow).
func Dial(ctx context.Context, rawURL string, h Handler, opts *DialOptions) (*NetConn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var network, addr, host, resource string
	secure := false
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss":
		secure = strings.EqualFold(u.Scheme, "wss")
		if u.Host == "" {
			return nil, ErrBadURL
		}
		network, host = "tcp", u.Host
		addr = u.Host
		if u.Port() == "" {
			port := "80"
			if secure {
				port = "443"
			}
			addr = net.JoinHostPort(u.Hostname(), port)
		}
		resource = u.RequestURI()
	case "ws+unix":
		if u.Path == "" {
			return nil, ErrBadURL
		}
		network, addr, host = "unix", u.Path, "localhost"
		resource = opts.Path
		if resource == "" {
			resource = "/"
		}
	default:
		return nil, ErrBadURL
	}
	if opts.Host != "" {
		host = opts.Host
	}
	if opts.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.HandshakeTimeout)
		defer cancel()
	}
	dialer := opts.Dialer
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	conn, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	// Cancelling ctx during the handshake interrupts the blocked I/O.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	nc, err := clientHandshake(ctx, conn, secure, u.Hostname(), host, resource, h, opts)
	if !stop() {
		// ctx ended: the deadline may have been set; the handshake failed
		// or is about to be refused.
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return nc, nil
}

func clientHandshake(ctx context.Context, conn net.Conn, secure bool, serverName, host, resource string, h Handler, opts *DialOptions) (*NetConn, error) {
	if secure {
		cfg := opts.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = serverName
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		conn = tc
	}
	var key [24]byte
	if err := NewKey(&key, nil); err != nil {
		return nil, err
	}
	comp := opts.Compression
	if opts.Config.Stream {
		comp = nil
	}
	offer := comp.Offer()
	req := AppendRequest(make([]byte, 0, 256), host, resource, &key, opts.Protocols, opts.Header, offer)
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 1024)
	var resp Response
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		n, perr := ParseResponse(buf, &resp)
		if perr != nil {
			return nil, perr
		}
		if n > 0 {
			protocol, cerr := CheckResponse(&resp, &key, opts.Protocols, offer)
			if he, ok := cerr.(*HandshakeError); ok && resp.Status != 101 {
				return nil, refusal(conn, he, buf[n:])
			}
			if cerr != nil {
				return nil, cerr
			}
			cfg := opts.Config
			if cfg.Deflate, cerr = comp.Accept(resp.Extensions()); cerr != nil {
				return nil, cerr
			}
			nc := newNetConn(conn, RoleClient, h, cfg, string(protocol), buf[n:])
			nc.CloseTimeout = opts.CloseTimeout
			watchClient(nc, opts.Liveness, opts.CloseTimeout)
			return nc, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// clientKey selects the tracker of a dialed connection: its limits, as
// enforced.
type clientKey struct {
	live    Liveness // resolved
	closeTO time.Duration
}

// clients holds one tracker per set of limits in use: an Upgrader that
// upgrades nothing, whose housekeeper enforces Liveness on the dialed
// connections given to it, as it does on accepted ones.
var clients struct {
	mu sync.Mutex
	m  map[clientKey]*Upgrader
}

// watchClient puts a dialed connection under the Liveness checks l (see
// DialOptions.Liveness), unless every check is off.
func watchClient(nc *NetConn, l Liveness, closeTO time.Duration) {
	r := l.Resolved()
	if r.PingInterval == 0 && r.ReadTimeout == 0 && r.IdleTimeout == 0 && r.MessageTimeout == 0 {
		return
	}
	if closeTO <= 0 {
		closeTO = DefaultCloseTimeout
	}
	key := clientKey{live: r, closeTO: closeTO}
	clients.mu.Lock()
	u := clients.m[key]
	if u == nil {
		// MaxConns -1: a client has no connection cap.
		u = &Upgrader{Liveness: l, CloseTimeout: closeTO, MaxConns: -1}
		if clients.m == nil {
			clients.m = make(map[clientKey]*Upgrader)
		}
		clients.m[key] = u
	}
	clients.mu.Unlock()
	if u.reserve() == nil { // never refused: no cap, never shut down
		u.track(nc)
	}
}
