package cluster

// Stats is a snapshot of a node's counters, since Connect.
type Stats struct {
	// Connected tells whether the NATS connection is up now.
	Connected bool
	// Disconnects and Reconnects count the losses of the NATS connection
	// and the reconnections that followed.
	Disconnects, Reconnects uint64

	// Published counts the messages this node published (Publish calls
	// that were not refused), NotSent those of them that did not reach
	// NATS (outage buffer full or off, or an error; see NotSentError).
	Published, NotSent uint64

	// Received counts the messages from other nodes delivered to this
	// node's members (each once, whatever the number of members).
	Received uint64
	// Lost counts the messages from other nodes that never arrived,
	// detected by the gaps in each origin's sequence numbers for a room,
	// whatever the cause: an outage on either side, a slow node (which
	// also counts them in SlowDropped), a node that was restarted. A gap
	// is seen when the next message after it arrives.
	Lost uint64
	// SlowDropped counts the messages from other nodes dropped because
	// this node's pending queue (Options.PendingMsgs) was full.
	SlowDropped uint64
	// HeldBack counts the times delivery waited for the local server's
	// backlog (Options.Backlog) to come under its bound.
	HeldBack uint64
	// Duplicates counts messages dropped because their sequence number
	// had been delivered already (none is expected).
	Duplicates uint64
	// Stale counts messages that arrived for a room after its last local
	// member left, and were dropped.
	Stale uint64
	// Malformed counts messages on the cluster's subjects that were not
	// in its format, or of an unknown opcode.
	Malformed uint64
	// Inbound counts every message that reached the node's queue from a
	// room's subject, delivered or not.
	Inbound uint64

	// Pending is the number of messages waiting in the queue now,
	// PendingLimit its bound.
	Pending, PendingLimit int
	// Rooms is the number of rooms with members on this node: the
	// subscriptions it holds.
	Rooms int
	// Nodes is the number of other live nodes known through presence.
	Nodes int
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	st := Stats{
		Connected:    n.nc.IsConnected(),
		Disconnects:  n.disconnects.Load(),
		Reconnects:   n.reconnects.Load(),
		Published:    n.published.Load(),
		NotSent:      n.notSent.Load(),
		Received:     n.received.Load(),
		Lost:         n.lost.Load(),
		Duplicates:   n.dups.Load(),
		Stale:        n.stale.Load(),
		Malformed:    n.malformed.Load(),
		Inbound:      n.inbound.Load(),
		HeldBack:     n.heldBack.Load(),
		Pending:      len(n.ch),
		PendingLimit: cap(n.ch),
	}
	n.mu.RLock()
	st.SlowDropped = n.droppedBase
	for _, r := range n.rooms {
		if r.sub != nil {
			st.Rooms++
			if d, err := r.sub.Dropped(); err == nil {
				st.SlowDropped += uint64(d)
			}
		}
	}
	n.mu.RUnlock()
	st.Nodes = len(n.Nodes()) - 1
	return st
}
