package client_test

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
)

func httpClient(c *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: c, ForceAttemptHTTP2: true}}
}

// fleetLog is where the test fleetd logs: warnings to stderr with
// SHINGLE_TEST_LOG set, nothing otherwise.
func fleetLog() *slog.Logger {
	if os.Getenv("SHINGLE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// agentLog is the agents' logger: silent unless SHINGLE_TEST_AGENT_LOG
// is set.
func agentLog() *slog.Logger {
	if os.Getenv("SHINGLE_TEST_AGENT_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
