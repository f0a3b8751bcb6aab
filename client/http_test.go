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

// fleetLog is where the test fleetd logs: to stderr with SHINGLE_TEST_LOG
// set, nothing otherwise.
func fleetLog() *slog.Logger { return testLog("SHINGLE_TEST_LOG") }

// agentLog is the agents' logger: silent unless SHINGLE_TEST_AGENT_LOG
// is set.
func agentLog() *slog.Logger { return testLog("SHINGLE_TEST_AGENT_LOG") }

// testLog logs JSON to stderr if the environment variable env is set, and
// nothing otherwise.
func testLog(env string) *slog.Logger {
	if os.Getenv(env) == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
