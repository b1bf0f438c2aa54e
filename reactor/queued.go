package reactor

// Queued returns the number of items waiting in the event loops' queues:
// broadcasts (one per loop), group changes and writes from other
// goroutines not yet carried out. Broadcast and Group.Broadcast never
// wait, so a producer that broadcasts from outside the loops at a rate of
// its own (a bridge from other servers, say) can watch Queued to hold back
// while the loops fall behind, instead of letting their queues grow.
func (s *Server) Queued() int {
	n := 0
	s.eachLoop(func(lp *loop) {
		lp.qmu.Lock()
		n += len(lp.q)
		lp.qmu.Unlock()
	})
	return n
}
