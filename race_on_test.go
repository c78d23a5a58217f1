//go:build race

package main

// raceDetector reports whether the tests were built with -race, which makes bcrypt about 15
// times slower.
const raceDetector = true
