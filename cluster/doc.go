// Package cluster spreads a Tachyon server's rooms over many nodes through
// NATS: publishing to a room on any node reaches the room's members on
// every node. It is a module of its own, so that the core module does not
// depend on NATS.
//
// # Using it
//
// A node is one server (reactor.Server, or anything else that offers
// groups of sockets, see Group) and one Node, connected to the NATS
// servers the nodes share:
//
//	srv := reactor.New(reactor.Options{Route: ...})
//	node, err := cluster.Connect("nats://10.0.0.5:4222", cluster.Options{
//		Groups:  cluster.Reactor(srv),
//		Backlog: srv.Queued,
//	})
//
// Behind net/http (engine.Upgrader), Groups: cluster.Sockets(0) gives the
// same room API for its connections, each member with a bounded queue of
// frames and a goroutine that writes them.
//
// Handlers call node.Join(room, s) where they would call group.Add(s),
// node.Publish(room, op, payload) where they would call
// group.Broadcast, and node.LeaveAll(s) in OnClose.
//
// # How messages travel
//
// Each room is a NATS subject, Prefix.room.<name> (bytes outside
// [A-Za-z0-9_-] escaped as ~XX). The bridge is interest-based: a node
// subscribes to a room's subject when its first local member joins and
// unsubscribes when its last one leaves, so it receives only the rooms it
// serves, and a room with no members anywhere costs nothing but its
// publisher's send.
//
// Publish delivers to the node's own members at once, through the local
// group's Broadcast, and sends the message to NATS, which does not send it
// back to this node (NoEcho): every member receives it once. A message
// from another node is turned into one prepared frame (engine.Prepared,
// encoded once, through Options.Prepare) and written to the node's
// members through the group's Broadcast: one encoding per message per
// node, whatever the number of members.
//
// Each message carries its origin node's ID and the origin's next
// sequence number for the room. Messages from one node to a room arrive
// everywhere in the order it published them.
//
// # Delivery is at most once
//
// A message reaches each member at most once: none is duplicated, and
// none is retransmitted. While NATS is up and no node is too slow, none
// is lost. Losses have three causes, each counted (Stats):
//
//   - NATS is unreachable from the publisher: Options.OutageBuffer keeps
//     up to that many bytes and sends them once the connection is back;
//     past the bound, or with the buffer off, Publish drops the message,
//     counts it (Stats.NotSent) and returns a *NotSentError. Messages in
//     flight when the connection broke are lost without a word to the
//     publisher.
//   - NATS is unreachable from a receiver: what was published meanwhile
//     is not delivered to it.
//   - A receiver is slower than its rooms: its queue (Options.PendingMsgs)
//     fills up and new messages are dropped (Stats.SlowDropped).
//
// Whatever the cause, a receiving node sees the gap in the origin's
// sequence numbers when the next message arrives and counts it
// (Stats.Lost); Options.Prepare can put the sequence number in the frame
// so that clients see it too and, say, reload the room's state. A restarted
// node is a new origin (its ID is drawn anew), so its numbering starting
// over is no gap.
//
// # Faults
//
// The NATS connection is re-established for ever, with exponential backoff
// from Options.ReconnectWait up to Options.MaxReconnectWait, with jitter;
// the node's subscriptions are restored with it. Local delivery does not
// depend on NATS and goes on during an outage.
//
// A slow node holds a bounded queue: at most Options.PendingMsgs messages
// wait for it, whatever the other nodes publish; the rest are dropped and
// counted, and the other nodes are not held up. A node whose event loops
// fall behind (Options.Backlog over Options.MaxBacklog) stops taking from
// that queue until they catch up, so the loops' own queues stay bounded
// too.
//
// # Presence
//
// Each node announces its name, its ID and its members per room on
// Prefix.presence, shortly after a change and every
// Options.PresenceInterval. Presence and Count add them up for a room,
// Nodes lists the live nodes. A node that leaves with Close says so and
// stops counting at once; one that dies, or is cut off from NATS, stops
// counting once it has not been heard from for its Options.PresenceTTL
// (three intervals, 3 s, by default). An announcement lists every room
// with members on the node, so it grows with their number: a few tens of
// bytes per room, announced every interval.
//
// # What it does not do
//
// It keeps no history, so a member that joins does not receive what was
// published before, and nothing lost is sent again; a room's sequence is
// per origin node, not one for the room across nodes (that would need a
// sequencer such as NATS JetStream). A room's state on a node (its
// publishing sequence number) is kept for the node's lifetime once the room
// was used.
package cluster
