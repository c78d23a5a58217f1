//go:build race

package e2e

// raceDetector reports whether the tests were built with -race, which makes bcrypt about 15
// times slower.
const raceDetector = true
