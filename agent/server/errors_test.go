package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/extent"
)

// TestClassify checks each store error gets the Connect code and HTTP
// status the API documents, through wrapping.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   connect.Code
		status int
	}{
		{extent.ErrNotFound, connect.CodeNotFound, http.StatusNotFound},
		{extent.ErrFull, connect.CodeResourceExhausted, http.StatusInsufficientStorage},
		{extent.ErrTooLarge, connect.CodeInvalidArgument, http.StatusRequestEntityTooLarge},
		{extent.ErrExists, connect.CodeAlreadyExists, http.StatusConflict},
		{extent.ErrSealed, connect.CodeFailedPrecondition, http.StatusConflict},
		{extent.ErrReadOnly, connect.CodeFailedPrecondition, http.StatusConflict},
		{extent.ErrCorrupt, connect.CodeDataLoss, http.StatusInternalServerError},
		{extent.ErrClosed, connect.CodeUnavailable, http.StatusServiceUnavailable},
		{context.DeadlineExceeded, connect.CodeDeadlineExceeded, http.StatusGatewayTimeout},
		{errors.New("disk on fire"), connect.CodeInternal, http.StatusInternalServerError},
	} {
		wrapped := fmt.Errorf("drive x: %w", tc.err)
		code, status := classify(wrapped)
		if code != tc.code || status != tc.status {
			t.Errorf("%v: %v %d, want %v %d", tc.err, code, status, tc.code, tc.status)
		}
		if got := connect.CodeOf(connectError(wrapped)); got != tc.code {
			t.Errorf("connectError(%v) has code %v, want %v", tc.err, got, tc.code)
		}
	}
}

// TestParseID round-trips ids through their UUID form and refuses
// malformed ones.
func TestParseID(t *testing.T) {
	id := NewID()
	for _, s := range []string{id.String(), fmt.Sprintf("%x", id[:])} {
		got, err := ParseID(s)
		if err != nil || got != id {
			t.Fatalf("ParseID(%q) = %v, %v; want %v", s, got, err, id)
		}
	}
	if id[6]>>4 != 4 || id[8]>>6 != 2 {
		t.Fatalf("NewID %s is not a version 4 UUID", id)
	}
	for _, bad := range []string{"", "xyz", id.String()[:30], id.String() + "00"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}
