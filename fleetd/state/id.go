package state

import "unicode/utf8"

// MaxIDLen bounds every string id (site, rack, host, drive, token). Ids end
// up in log entries, snapshots, metrics labels and drive labels; a bound
// keeps all of them small.
const MaxIDLen = 128

// checkID rejects ids that would be awkward everywhere they travel: empty,
// too long, not UTF-8, or containing spaces or control characters (which
// break command lines, logs and metric labels).
func checkID(kind, id string) *Error {
	if id == "" {
		return invalidf("%s id is empty", kind)
	}
	if len(id) > MaxIDLen {
		return invalidf("%s id %.20q... is %d bytes, the limit is %d", kind, id, len(id), MaxIDLen)
	}
	if !utf8.ValidString(id) {
		return invalidf("%s id %q is not valid UTF-8", kind, id)
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f {
			return invalidf("%s id %q contains a space or control character", kind, id)
		}
	}
	return nil
}
