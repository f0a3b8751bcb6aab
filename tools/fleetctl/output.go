package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// printer writes a command's result as a table for people or as JSON for
// scripts (--output).
type printer struct {
	w    io.Writer
	json bool
}

// newPrinter reads --output.
func newPrinter(c *cli.Context) (*printer, error) {
	switch o := c.String("output"); o {
	case "table", "":
		return &printer{w: c.App.Writer}, nil
	case "json":
		return &printer{w: c.App.Writer, json: true}, nil
	default:
		return nil, usageErrorf("--output %q: use table or json", o)
	}
}

// message prints m as JSON (field names as in the .proto files), or calls
// describe to print it for people.
func (p *printer) message(m proto.Message, describe func(t *table)) error {
	if p.json {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
		if err != nil {
			return err
		}
		// protojson varies its spacing on purpose; indent it the same way
		// every time, so output can be compared and diffed.
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = p.w.Write(out.Bytes())
		return err
	}
	t := newTable(p.w)
	describe(t)
	return t.tw.Flush()
}

// value prints v as JSON, indented as message indents (for the outputs
// that are not a message of the API).
func (p *printer) value(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table is an aligned, tab-separated table.
type table struct{ tw *tabwriter.Writer }

// newTable starts a table on w; Flush its tw when done.
func newTable(w io.Writer) *table { return &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)} }

// row prints one row; values are formatted with %v.
func (t *table) row(cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = fmt.Sprint(c)
		if s[i] == "" {
			s[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(s, "\t"))
}

// blank ends a block of rows with an empty line; the rows after it align
// among themselves.
func (t *table) blank() { fmt.Fprintln(t.tw) }

// pair prints "key: value" lines of a description.
func (t *table) pair(key string, value any) { t.row(key+":", value) }

// size renders a size in binary units.
func size(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ago renders a timestamp as a time and how long ago it was.
func ago(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	t := ts.AsTime()
	return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.DateTime), time.Since(t).Round(100*time.Millisecond))
}
