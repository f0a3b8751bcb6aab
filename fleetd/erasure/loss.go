package erasure

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnrecoverable is what every LossError wraps: the shards present do
// not determine the ones asked for. Test for it with errors.Is.
var ErrUnrecoverable = errors.New("erasure: too many shards lost")

// LossError reports a loss pattern a Codec cannot rebuild from: which
// shards were lost, and how many the scheme can always lose.
type LossError struct {
	// Scheme is the code that could not decode.
	Scheme Scheme
	// Lost lists the shards that were missing, ascending.
	Lost []int
	// Tolerance is how many lost shards, in any pattern, the code always
	// survives (see Codec.Tolerance).
	Tolerance int
}

// Error names the scheme, the shards lost and the tolerance.
func (e *LossError) Error() string {
	lost := make([]string, len(e.Lost))
	for i, s := range e.Lost {
		lost[i] = fmt.Sprint(s)
	}
	msg := fmt.Sprintf("erasure: %v lost %d shards (%s); it can lose any %d",
		e.Scheme, len(e.Lost), strings.Join(lost, ", "), e.Tolerance)
	if len(e.Lost) <= e.Tolerance {
		// Only when a caller named too few shards to Rebuild from: the
		// volume itself is fine.
		return msg + ", but the shards given do not determine the ones wanted"
	}
	if e.Scheme.Kind == LocalReconstruction {
		// An LRC survives some patterns beyond its tolerance (one loss per
		// local group plus m more), so say that this one is not among them.
		return msg + " and some larger patterns, but not this one"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrUnrecoverable) true.
func (e *LossError) Unwrap() error { return ErrUnrecoverable }
