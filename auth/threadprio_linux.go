package auth

import "syscall"

// threadPriorityWorks: on Linux each thread has its own nice value, set by setpriority on the
// thread's id.
const threadPriorityWorks = true

// hashingNice is the nice value of the hashing threads: the lowest priority, so that the
// kernel's scheduler gives them about 1.5 % of a CPU against a normal thread (weight 15 against
// 1024) and everything when nothing else runs. Raising one's own nice value needs no privilege.
const hashingNice = 19

// lowerThreadPriority makes the calling OS thread (locked by the caller) the lowest priority.
// A failure (a seccomp filter, say) leaves the priority as it was: hashing still works, only
// less politely, so it is not an error.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), hashingNice)
}
