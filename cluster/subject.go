package cluster

// roomSubject returns the NATS subject of a room: prefix, ".room.", then
// the room's name with every byte outside [A-Za-z0-9_-] written as "~XX"
// (hex), so that any name makes one valid token ('.', '*', '>' and spaces
// are NATS syntax) and two names never share a subject.
func roomSubject(prefix, room string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(prefix)+len(".room.")+len(room))
	b = append(b, prefix...)
	b = append(b, ".room."...)
	for i := 0; i < len(room); i++ {
		c := room[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
			continue
		}
		b = append(b, '~', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// presenceSubject is where the nodes announce their members.
func presenceSubject(prefix string) string { return prefix + ".presence" }
