//go:build race

package auth_test

// raceEnabled: the race detector changes what allocations cost, so heap bounds are not checked.
const raceEnabled = true
