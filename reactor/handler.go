package reactor

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tachyonws/tachyon/engine"
)

// handler is the Server as gnet's EventHandler (kept off Server's method
// set).
type handler Server

func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	h.eng = eng
	return gnet.None
}

func (h *handler) OnShutdown(gnet.Engine) {}

// OnTick runs on gnet's ticker goroutine, not on a loop: it only asks each
// loop to run its housekeeping. Its first call tells Start that every
// loop is up.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	s := (*Server)(h)
	s.readyOne.Do(func() { close(s.ready) })
	s.eachLoop(func(lp *loop) {
		if !lp.ticking.Swap(true) {
			if lp.el.Execute(context.Background(), lp.tickFn) != nil {
				lp.ticking.Store(false)
			}
		}
	})
	return s.tick, gnet.None
}

// busy answers connections over MaxConns.
var busy = plainResponse(nil, 503, "too many connections\n", [][2]string{{"Retry-After", "1"}})

func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := (*Server)(h)
	if s.shutting.Load() {
		return nil, gnet.Close
	}
	if s.open.Add(1) > s.maxConns {
		s.open.Add(-1)
		s.st.refused.Add(1)
		return busy, gnet.Close
	}
	lp := s.loopFor(gc)
	if s.shutting.Load() {
		// Shutdown began while this loop was being created: its CloseAll
		// may have missed the loop.
		s.open.Add(-1)
		return nil, gnet.Close
	}
	now := time.Now().UnixNano()
	lp.clock = now
	c := &conn{lp: lp, gc: gc, closeBy: now + s.hsTimeout}
	gc.SetContext(c)
	lp.add(c)
	return nil, gnet.None
}

func (h *handler) OnClose(gc gnet.Conn, _ error) gnet.Action {
	c, _ := gc.Context().(*conn)
	if c == nil {
		return gnet.None
	}
	c.closed()
	return gnet.None
}

func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*conn)
	if c == nil || c.state == stateClosed {
		return gnet.Close
	}
	n := gc.InboundBuffered()
	if fresh := n - int(c.held); fresh > 0 {
		c.lp.bytesIn.Add(uint64(fresh))
	}
	c.seen = c.lp.clock
	var act gnet.Action
	switch {
	case c.state == stateHandshake:
		buf, _ := gc.Peek(-1)
		act = c.handshake(buf)
	case c.waits(n):
		if c.given() && c.jdg().dropped > givenUpMax {
			return gnet.Close
		}
	default:
		buf, _ := gc.Peek(-1)
		act = c.traffic(buf, false)
	}
	if act == gnet.None && !c.chargeHeld() {
		// The server's inbound budget is spent: this connection's input
		// is not kept.
		if c.state != stateHandshake {
			c.failWith(engine.ErrBudget.Code, engine.ErrBudget.Msg)
		}
		return gnet.Close
	}
	return act
}

// chargeHeld keeps the budget's reservation for the bytes left in gnet's
// inbound buffer in step with them; false when the budget refuses more.
func (c *conn) chargeHeld() bool {
	d := c.held - c.heldRes
	switch {
	case d > 0:
		if !c.lp.srv.budget.Reserve(int64(d)) {
			return false
		}
	case d < 0:
		c.lp.srv.budget.Release(int64(-d))
	}
	c.heldRes = c.held
	return true
}

// errStatus returns the HTTP status of a refused handshake.
func errStatus(err error) int {
	if st := engine.HTTPStatus(err); st != 0 {
		return st
	}
	return 403
}
