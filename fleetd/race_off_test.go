//go:build !race

package main

// raceFlags is empty when the tests run without the race detector.
var raceFlags []string
