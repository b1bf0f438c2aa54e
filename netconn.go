package tachyon

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tachyonws/tachyon/engine"
)

// NetConn returns a net.Conn over c for a protocol that wants a byte
// stream: each Write sends one message of type op, and Read returns the
// bytes of the messages received, one after the other (a message of the
// other type closes the connection with 1003, unsupported data). Read
// returns io.EOF once the peer closed normally. Close runs the closing
// handshake with 1000.
//
// Deadlines work as net.Conn says: a Read or Write past its deadline fails
// with an error that is os.ErrDeadlineExceeded. A Read that times out
// closes nothing and may be retried after the deadline is moved; a Write
// that times out mid-message closes the connection.
func (c *Conn) NetConn(op OpCode) net.Conn {
	return &netConn{c: c, op: op}
}

type netConn struct {
	c  *Conn
	op OpCode

	rmu sync.Mutex
	r   io.Reader // the message being read, nil between messages

	rd, wd deadline
}

func (n *netConn) Read(b []byte) (int, error) {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	ctx := n.rd.context()
	for {
		if n.r == nil {
			op, r, err := n.c.Reader(ctx)
			if err != nil {
				return 0, n.mapErr(ctx, err)
			}
			if op != n.op {
				_ = n.c.Close(engine.StatusUnsupportedData, "unexpected message type")
				return 0, errors.New("tachyon: NetConn: received a message of the other type")
			}
			n.r = r
		}
		k, err := n.r.Read(b)
		if err == io.EOF {
			n.r = nil
			if k == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			return k, n.mapErr(ctx, err)
		}
		return k, nil
	}
}

func (n *netConn) mapErr(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return os.ErrDeadlineExceeded
	case CloseStatus(err) == StatusNormalClosure || CloseStatus(err) == StatusGoingAway:
		return io.EOF
	}
	return err
}

func (n *netConn) Write(b []byte) (int, error) {
	ctx := n.wd.context()
	if err := n.c.Write(ctx, n.op, b); err != nil {
		return 0, n.mapErr(ctx, err)
	}
	return len(b), nil
}

func (n *netConn) Close() error {
	return n.c.Close(StatusNormalClosure, "")
}

func (n *netConn) LocalAddr() net.Addr  { return n.c.LocalAddr() }
func (n *netConn) RemoteAddr() net.Addr { return n.c.RemoteAddr() }

func (n *netConn) SetDeadline(t time.Time) error {
	n.rd.set(t)
	n.wd.set(t)
	return nil
}

func (n *netConn) SetReadDeadline(t time.Time) error  { n.rd.set(t); return nil }
func (n *netConn) SetWriteDeadline(t time.Time) error { n.wd.set(t); return nil }

// deadline turns a net.Conn deadline into the context of the calls it
// bounds: the context is cancelled when the deadline passes, and replaced
// by a fresh one when the deadline is moved.
type deadline struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.ctx == nil || d.ctx.Err() != nil {
		d.ctx, d.cancel = context.WithCancel(context.Background())
	}
	if t.IsZero() {
		return
	}
	if dt := time.Until(t); dt > 0 {
		d.timer = time.AfterFunc(dt, d.cancel)
	} else {
		d.cancel()
	}
}

func (d *deadline) context() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return context.Background()
	}
	return d.ctx
}
