package server

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/extent"
)

// errNotCompactable marks a compaction refused because the extent is
// still open.
var errNotCompactable = errors.New("extent is open")

// classify maps an error from the extent store to the Connect code and the
// HTTP status the API answers it with.
func classify(err error) (connect.Code, int) {
	switch {
	case errors.Is(err, extent.ErrNotFound):
		return connect.CodeNotFound, http.StatusNotFound
	case errors.Is(err, extent.ErrFull):
		return connect.CodeResourceExhausted, http.StatusInsufficientStorage
	case errors.Is(err, extent.ErrTooLarge):
		return connect.CodeInvalidArgument, http.StatusRequestEntityTooLarge
	case errors.Is(err, extent.ErrExists), errors.Is(err, extent.ErrExtentExists):
		return connect.CodeAlreadyExists, http.StatusConflict
	case errors.Is(err, extent.ErrSealed), errors.Is(err, extent.ErrReadOnly), errors.Is(err, errNotCompactable):
		return connect.CodeFailedPrecondition, http.StatusConflict
	case errors.Is(err, extent.ErrCorrupt):
		return connect.CodeDataLoss, http.StatusInternalServerError
	case errors.Is(err, extent.ErrClosed):
		return connect.CodeUnavailable, http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return connect.CodeCanceled, 499
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded, http.StatusGatewayTimeout
	}
	return connect.CodeInternal, http.StatusInternalServerError
}

// connectError wraps a store error with its Connect code.
func connectError(err error) error {
	code, _ := classify(err)
	return connect.NewError(code, err)
}
