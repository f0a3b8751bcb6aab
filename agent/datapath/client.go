package datapath

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Client calls agents' data paths. It holds no state of its own beyond
// the HTTP client (whose transport pools connections per agent), so one
// Client serves every agent of a fleet.
type Client struct {
	// HTTP is the client to call with; its transport carries the mutual
	// TLS configuration of the cluster.
	HTTP *http.Client
}

// Error is an agent's answer to a data-path call that failed: the HTTP
// status and the agent's error code and message.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the agent's error code (not_found, resource_exhausted,
	// failed_precondition, data_loss, ...).
	Code string
	// Message says what went wrong, in the agent's words.
	Message string
	// Agent is the address called.
	Agent string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("agent %s: %s (%d %s)", e.Agent, e.Message, e.Status, e.Code)
}

// IsCode reports whether err is an agent's answer with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// do sends one request to the agent at addr and returns the response if
// its status is want; otherwise the agent's error.
func (c *Client) do(ctx context.Context, method, addr, path string, body []byte, header http.Header, want int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", addr, err)
	}
	if resp.StatusCode == want {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode, Agent: addr}
	var m struct{ Code, Message string }
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		e.Code, e.Message = m.Code, m.Message
	} else {
		e.Code, e.Message = "unknown", string(bytes.TrimSpace(b))
	}
	return nil, e
}

// Put stores blob under key in an extent of a drive of the agent at addr,
// sending its CRC32C, and returns once the agent has it durable.
func (c *Client) Put(ctx context.Context, addr, drive string, extent uint64, key Key, blob []byte) error {
	return c.PutWithCRC(ctx, addr, drive, extent, key, blob, CRC32C(blob))
}

// PutWithCRC is Put with the blob's CRC32C already computed, for a blob
// sent to several replicas: the checksum is taken once, when the bytes
// are first in hand, and every agent checks the bytes it got against it.
func (c *Client) PutWithCRC(ctx context.Context, addr, drive string, extent uint64, key Key, blob []byte, crc uint32) error {
	resp, err := c.do(ctx, "PUT", addr, BlobPath(drive, extent, key), blob,
		http.Header{HeaderCRC32C: {FormatCRC(crc)}, "Content-Length": {strconv.Itoa(len(blob))}}, http.StatusCreated)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// Get reads the blob under key from a drive of the agent at addr and
// checks it against the CRC32C the agent sent with it.
func (c *Client) Get(ctx context.Context, addr, drive string, extent uint64, key Key) ([]byte, error) {
	resp, err := c.do(ctx, "GET", addr, BlobPath(drive, extent, key), nil, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want, err := ParseCRC32C(resp.Header.Get(HeaderCRC32C))
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", addr, err)
	}
	var b []byte
	if size := resp.ContentLength; size >= 0 && size <= maxStreamBlob {
		// The usual case: read into a buffer of exactly the right size,
		// with no copy when it fills.
		b = make([]byte, size)
		_, err = io.ReadFull(resp.Body, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxStreamBlob+1))
	}
	if err != nil {
		return nil, fmt.Errorf("agent %s: reading blob %x: %w", addr, key[:8], err)
	}
	if got := CRC32C(b); got != want {
		return nil, &Error{Status: http.StatusOK, Code: "data_loss", Agent: addr,
			Message: fmt.Sprintf("blob %x arrived with CRC32C %s, the agent sent %s: damaged on the way", key[:8], FormatCRC(got), FormatCRC(want))}
	}
	return b, nil
}

// Delete writes a tombstone for key into an open extent of a drive of the
// agent at addr.
func (c *Client) Delete(ctx context.Context, addr, drive string, extent uint64, key Key) error {
	resp, err := c.do(ctx, "DELETE", addr, BlobPath(drive, extent, key), nil, nil, http.StatusNoContent)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Stream reads every live blob of an extent from the agent at addr, as
// ReadStream does, and returns how many there were.
func (c *Client) Stream(ctx context.Context, addr, drive string, extent uint64, fn func(key Key, blob []byte) error) (int, error) {
	resp, err := c.do(ctx, "GET", addr, StreamPath(drive, extent), nil, nil, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := ReadStream(resp.Body, func() string { return resp.Trailer.Get(HeaderBlobCount) }, fn)
	if err != nil {
		return n, fmt.Errorf("agent %s: extent %d of drive %s: %w", addr, extent, drive, err)
	}
	return n, err
}
