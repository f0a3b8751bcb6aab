//go:build race

package main

// raceFlags builds the fleetd under test with the race detector when the
// tests themselves run with it, so that data races in the servers fail
// the tests too.
var raceFlags = []string{"-race"}
