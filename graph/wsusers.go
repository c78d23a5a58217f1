package graph

import "sync"

// userSockets counts each user's open WebSockets on this instance, so that one account cannot
// hold an unbounded number of them (each with its goroutines, buffers and watcher). A user has
// an entry only while the count is above zero: the map never holds more entries than there are
// open sockets.
type userSockets struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newUserSockets(maxSockets int) *userSockets {
	return &userSockets{max: maxSockets, n: map[string]int{}}
}

// acquire takes one of the user's slots; release (safe to call more than once) gives it back.
func (u *userSockets) acquire(userID string) (release func(), ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[userID] >= u.max {
		return nil, false
	}
	u.n[userID]++
	var once sync.Once
	return func() { once.Do(func() { u.drop(userID) }) }, true
}

func (u *userSockets) drop(userID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[userID] <= 1 {
		delete(u.n, userID)
		return
	}
	u.n[userID]--
}

// open is the number of users with a socket open (for tests of the bound).
func (u *userSockets) open() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.n)
}
