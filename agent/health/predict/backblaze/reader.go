package backblaze

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// ReadFile reads a Backblaze drive-stats file; a name ending in .gz is
// decompressed first.
func ReadFile(path string) ([]Drive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backblaze: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("backblaze: %s: %w; is it really gzipped?", path, err)
		}
		defer z.Close()
		r = z
	}
	drives, err := Read(r)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return drives, nil
}

// Read parses a Backblaze drive-stats CSV and returns its drives sorted by
// serial number, each drive's samples sorted by day.
//
// The header must name the columns date (YYYY-MM-DD), serial_number and
// failure (0 or 1). Every column smart_<id>_raw, with id from 0 to 255,
// becomes attribute id of the samples, an empty cell meaning the drive did
// not report it; a value must be a non-negative integer. A model column is
// kept; other columns (capacity_bytes, the _normalized values) are ignored.
// Read rejects the whole file, naming the line, at the first row it cannot
// parse and at any drive with two rows for the same day.
func Read(r io.Reader) ([]Drive, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	header = slices.Clone(header) // ReuseRecord: later reads overwrite it
	if errors.Is(err, io.EOF) {
		return nil, errors.New("backblaze: the file is empty; expected a header line naming date, serial_number and failure")
	}
	if err != nil {
		return nil, fmt.Errorf("backblaze: reading the header: %w", err)
	}
	cols, err := parseHeader(header)
	if err != nil {
		return nil, err
	}

	bySerial := map[string]*Drive{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, csv.ErrFieldCount) {
			return nil, fmt.Errorf("backblaze: %w; every row needs as many fields as the header, %d", err, len(header))
		}
		if err != nil {
			return nil, fmt.Errorf("backblaze: %w; fix or remove that line", err)
		}
		line, _ := cr.FieldPos(0)
		if err := cols.add(bySerial, rec); err != nil {
			return nil, fmt.Errorf("backblaze: line %d: %w", line, err)
		}
	}

	drives := make([]Drive, 0, len(bySerial))
	for _, d := range bySerial {
		sort.Slice(d.Samples, func(i, j int) bool { return d.Samples[i].Day.Before(d.Samples[j].Day) })
		for i := 1; i < len(d.Samples); i++ {
			if d.Samples[i].Day.Equal(d.Samples[i-1].Day) {
				return nil, fmt.Errorf("backblaze: drive %s has two rows for %s; remove one of them",
					d.Serial, d.Samples[i].Day.Format(time.DateOnly))
			}
		}
		drives = append(drives, *d)
	}
	sort.Slice(drives, func(i, j int) bool { return drives[i].Serial < drives[j].Serial })
	return drives, nil
}

// columns says where in a row each field the reader uses is.
type columns struct {
	date, serial, failure, model int // -1 if absent (model only)
	smart                        []smartColumn
}

// smartColumn is one smart_<id>_raw column.
type smartColumn struct {
	index int
	id    uint8
	name  string
}

// parseHeader finds the columns the reader uses in a header line.
func parseHeader(header []string) (columns, error) {
	c := columns{date: -1, serial: -1, failure: -1, model: -1}
	for i, name := range header {
		name = strings.TrimSpace(name)
		switch name {
		case "date":
			c.date = i
		case "serial_number":
			c.serial = i
		case "failure":
			c.failure = i
		case "model":
			c.model = i
		default:
			id, ok := strings.CutPrefix(name, "smart_")
			if id, ok2 := strings.CutSuffix(id, "_raw"); ok && ok2 {
				n, err := strconv.ParseUint(id, 10, 8)
				if err != nil {
					return columns{}, fmt.Errorf("backblaze: header column %d is %q, but SMART attribute IDs run from 0 to 255", i+1, name)
				}
				c.smart = append(c.smart, smartColumn{index: i, id: uint8(n), name: name})
			}
		}
	}
	for _, need := range []struct {
		index int
		name  string
	}{{c.date, "date"}, {c.serial, "serial_number"}, {c.failure, "failure"}} {
		if need.index < 0 {
			return columns{}, fmt.Errorf("backblaze: the header has no %s column; is this a Backblaze drive-stats CSV? (header: %s)",
				need.name, strings.Join(header, ","))
		}
	}
	return c, nil
}

// add parses one row and appends it to its drive.
func (c columns) add(bySerial map[string]*Drive, rec []string) error {
	serial := rec[c.serial]
	if serial == "" {
		return errors.New("serial_number is empty; every row must name its drive")
	}
	day, err := time.Parse(time.DateOnly, rec[c.date])
	if err != nil {
		return fmt.Errorf("date %q is not a date in the form YYYY-MM-DD", rec[c.date])
	}
	var failed bool
	switch rec[c.failure] {
	case "0":
	case "1":
		failed = true
	default:
		return fmt.Errorf("failure is %q, want 0 or 1", rec[c.failure])
	}
	s := predict.Sample{Day: day, SMART: make(map[uint8]uint64, len(c.smart))}
	for _, sc := range c.smart {
		v := rec[sc.index]
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s is %q, want a non-negative integer or an empty cell", sc.name, v)
		}
		s.SMART[sc.id] = n
	}

	d := bySerial[serial]
	if d == nil {
		d = &Drive{Serial: serial}
		if c.model >= 0 {
			d.Model = rec[c.model]
		}
		bySerial[serial] = d
	}
	d.Samples = append(d.Samples, s)
	if failed && (d.Failed.IsZero() || day.Before(d.Failed)) {
		d.Failed = day
	}
	return nil
}
