//go:build !linux

package auth

// threadPriorityWorks: elsewhere there is no portable per-thread priority; hashing runs at
// normal priority and the slots alone bound it.
const threadPriorityWorks = false

func lowerThreadPriority() {}
