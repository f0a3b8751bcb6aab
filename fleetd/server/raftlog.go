package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// raftLogger returns an hclog.Logger (what hashicorp/raft and raft-wal log
// to) that sends everything at Info and above to slog, so that one fleetd
// process writes one stream of JSON logs in one shape.
func raftLogger(l *slog.Logger) hclog.Logger {
	il := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: io.Discard})
	il.RegisterSink(slogSink{l: l})
	return il
}

// slogSink receives hclog's messages with their key/value pairs.
type slogSink struct{ l *slog.Logger }

// Accept turns one hclog message into one slog record.
func (s slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	var lvl slog.Level
	switch {
	case level < hclog.Info:
		return
	case level == hclog.Info:
		lvl = slog.LevelInfo
	case level == hclog.Warn:
		lvl = slog.LevelWarn
	default:
		lvl = slog.LevelError
	}
	attrs := make([]slog.Attr, 0, len(args)/2+1)
	attrs = append(attrs, slog.String("component", name))
	for i := 0; i+1 < len(args); i += 2 {
		attrs = append(attrs, slog.Any(fmt.Sprint(args[i]), logValue(args[i+1])))
	}
	s.l.LogAttrs(context.Background(), lvl, msg, attrs...)
}

// logValue renders values slog's JSON handler would otherwise print as {}
// (errors, raft's address types) as text.
func logValue(v any) any {
	switch x := v.(type) {
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	}
	return v
}
