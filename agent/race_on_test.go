//go:build race

package main

// raceFlags builds the agent under test with the race detector when the
// tests themselves run with it, so that data races in the agent fail the
// tests too.
var raceFlags = []string{"-race"}
