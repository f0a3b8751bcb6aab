package state

import "fmt"

// Code classifies why Apply rejected a command, so that a caller (and later
// the API layer, which maps codes to Connect codes) knows what to do next
// without parsing a message.
type Code string

const (
	// CodeInvalid means the command itself is malformed: an empty id, a
	// negative size, an unknown scheme. Retrying cannot help; fix the request.
	CodeInvalid Code = "invalid"
	// CodeNotFound means the command names something the state does not
	// hold. Create it first, or check the id.
	CodeNotFound Code = "not_found"
	// CodeExists means the command would create something that already
	// exists.
	CodeExists Code = "already_exists"
	// CodeConflict means the command is well formed but the current state
	// does not allow it: an illegal state transition, a stale generation, a
	// drive that is no longer in service. Re-read the state and decide again.
	CodeConflict Code = "conflict"
	// CodeExpired means a join token is past its expiry or used up. Issue a
	// new token.
	CodeExpired Code = "expired"
)

// Error is the error Apply returns for a rejected command. It is a value
// every node computes identically, so it is safe to return to a client no
// matter which node applied the entry.
type Error struct {
	// Code says what kind of failure this is.
	Code Code `json:"code"`
	// Msg says what was wrong and, where it helps, what to do about it.
	Msg string `json:"message"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, state.ErrNotFound) and friends match any *Error
// with the same Code, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

// Sentinels for errors.Is. They carry only a Code.
var (
	// ErrInvalid matches every *Error with CodeInvalid.
	ErrInvalid = &Error{Code: CodeInvalid}
	// ErrNotFound matches every *Error with CodeNotFound.
	ErrNotFound = &Error{Code: CodeNotFound}
	// ErrExists matches every *Error with CodeExists.
	ErrExists = &Error{Code: CodeExists}
	// ErrConflict matches every *Error with CodeConflict.
	ErrConflict = &Error{Code: CodeConflict}
	// ErrExpired matches every *Error with CodeExpired.
	ErrExpired = &Error{Code: CodeExpired}
)

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *Error {
	return errorf(CodeInvalid, format, args...)
}

func notFoundf(format string, args ...any) *Error {
	return errorf(CodeNotFound, format, args...)
}

func existsf(format string, args ...any) *Error {
	return errorf(CodeExists, format, args...)
}

func conflictf(format string, args ...any) *Error {
	return errorf(CodeConflict, format, args...)
}
