package cluster

import (
	"encoding/binary"
	"errors"
)

// The messages a node sends over NATS. Both kinds start with a version
// byte, so that a later format can be told apart.
//
// A room's message, on the room's subject:
//
//	version (1) | opcode (1) | origin node ID (8, big-endian) | seq (uvarint) | payload
//
// A node's presence, on the presence subject:
//
//	version (1) | kind (1: alive, 2: leaving) | node ID (8) | TTL in ms (uvarint) |
//	name length (uvarint) | name | rooms (uvarint) | per room: name length (uvarint), name, members (uvarint)
const (
	wireVersion = 1

	kindAlive   = 1
	kindLeaving = 2
)

var errWire = errors.New("cluster: malformed message")

// appendData appends a room's message to dst.
func appendData(dst []byte, op byte, origin, seq uint64, payload []byte) []byte {
	dst = append(dst, wireVersion, op)
	dst = binary.BigEndian.AppendUint64(dst, origin)
	dst = binary.AppendUvarint(dst, seq)
	return append(dst, payload...)
}

// parseData reads a room's message; payload is a sub-slice of b.
func parseData(b []byte) (op byte, origin, seq uint64, payload []byte, err error) {
	if len(b) < 10 || b[0] != wireVersion {
		return 0, 0, 0, nil, errWire
	}
	op, origin = b[1], binary.BigEndian.Uint64(b[2:10])
	seq, n := binary.Uvarint(b[10:])
	if n <= 0 {
		return 0, 0, 0, nil, errWire
	}
	return op, origin, seq, b[10+n:], nil
}

// presence is one node's presence message, decoded.
type presence struct {
	kind  byte
	id    uint64
	ttlMS uint64
	name  string
	rooms map[string]int
}

// roomCount is a room and the node's members in it.
type roomCount struct {
	room string
	n    int
}

// appendPresence appends a presence message to dst.
func appendPresence(dst []byte, kind byte, id uint64, ttlMS uint64, name string, rooms []roomCount) []byte {
	dst = append(dst, wireVersion, kind)
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = binary.AppendUvarint(dst, ttlMS)
	dst = appendString(dst, name)
	dst = binary.AppendUvarint(dst, uint64(len(rooms)))
	for _, r := range rooms {
		dst = appendString(dst, r.room)
		dst = binary.AppendUvarint(dst, uint64(r.n))
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// parsePresence decodes a presence message; it copies what it keeps.
func parsePresence(b []byte) (p presence, err error) {
	if len(b) < 10 || b[0] != wireVersion || (b[1] != kindAlive && b[1] != kindLeaving) {
		return p, errWire
	}
	p.kind, p.id = b[1], binary.BigEndian.Uint64(b[2:10])
	r := reader{b: b[10:]}
	p.ttlMS = r.uvarint()
	p.name = r.string()
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) { // each room takes at least one byte
		return p, errWire
	}
	p.rooms = make(map[string]int, n)
	for range n {
		room := r.string()
		c := r.uvarint()
		if r.err != nil || c > 1<<40 {
			return p, errWire
		}
		p.rooms[room] = int(c)
	}
	if r.err != nil {
		return p, errWire
	}
	return p, nil
}

// reader reads uvarints and strings until its first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errWire
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
