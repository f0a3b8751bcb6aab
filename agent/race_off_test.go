//go:build !race

package main

// raceFlags is empty: the tests run without the race detector.
var raceFlags []string
