package smart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Replay is a Reader that returns recorded samples in order, for tests of
// code that consumes SMART data. After the last sample Read returns io.EOF.
// It is safe for concurrent use.
type Replay struct {
	mu      sync.Mutex
	samples []Sample
	next    int
}

var _ Reader = (*Replay)(nil)

// NewReplay returns a Replay of the given samples, which it copies.
func NewReplay(samples ...Sample) *Replay {
	r := &Replay{samples: make([]Sample, len(samples))}
	for i, s := range samples {
		r.samples[i] = s.Clone()
	}
	return r
}

// LoadReplay returns a Replay of the samples in the given JSON files, in
// order; see ReadSamples for their format.
func LoadReplay(paths ...string) (*Replay, error) {
	var all []Sample
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("smart: %w", err)
		}
		ss, err := ReadSamples(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, ss...)
	}
	return &Replay{samples: all}, nil
}

// Read returns the next sample, or io.EOF when all have been read.
func (r *Replay) Read(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next >= len(r.samples) {
		return Sample{}, io.EOF
	}
	s := r.samples[r.next].Clone()
	r.next++
	return s, nil
}

// Remaining returns how many samples are left to read.
func (r *Replay) Remaining() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples) - r.next
}

// ReadSamples decodes samples in JSON, as written by encoding/json from a
// Sample or a []Sample: either one sample object or an array of them.
// Fields Sample does not have are an error, so that a misspelt field in a
// hand-written file does not silently read as zero, and every sample must
// pass Validate.
func ReadSamples(r io.Reader) ([]Sample, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("smart: reading samples: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("smart: no samples: the input is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var samples []Sample
	if data[0] == '[' {
		err = dec.Decode(&samples)
	} else {
		var s Sample
		err = dec.Decode(&s)
		samples = []Sample{s}
	}
	if err != nil {
		return nil, fmt.Errorf("smart: decoding samples: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("smart: decoding samples: data after the first JSON value")
	}
	if len(samples) == 0 {
		return nil, errors.New("smart: no samples: the array is empty")
	}
	for i, s := range samples {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
	}
	return samples, nil
}
