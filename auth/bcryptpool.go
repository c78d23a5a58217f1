package auth

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// bcryptPool runs password hashing on at most `slots` goroutines, each locked to an OS thread
// whose scheduling priority was lowered (lowerThreadPriority), so that the kernel, not the Go
// scheduler, decides who gets a CPU: a cheap request is served the moment it is runnable, and
// bcrypt uses whatever CPU nothing else wants. Go's scheduler would preempt a hashing goroutine
// only every 10 ms, which is the tail a cheap request saw during a login flood.
//
// The process should have slots more Ps than it has CPUs (see ExtraProcs): a locked thread that
// runs Go code holds a P, and without spare ones the hashing threads would take the processors
// the cheap requests need, whatever their priority.
//
// Workers start on demand and end after idle (idleWorker) without work. A worker never unlocks its
// thread, so the thread ends with it: a thread with a lowered priority is never handed back to
// the Go scheduler for other goroutines.
type bcryptPool struct {
	jobs  chan bcryptJob
	ended chan struct{} // a token per ended worker, for callers waiting on a full pool
	mu    sync.Mutex
	slots int
	live  int           // workers started and not yet ended
	idle  time.Duration // how long a worker waits for work before it ends; idleWorker
	// lowPriority: workers lower their thread's priority (Config.BcryptLowPriority).
	lowPriority bool
}

type bcryptJob struct {
	run  func()
	done chan struct{}
}

const idleWorker = 10 * time.Second

func newBcryptPool(slots int) *bcryptPool {
	slots = max(slots, 1)
	return &bcryptPool{jobs: make(chan bcryptJob), ended: make(chan struct{}, slots), slots: slots, idle: idleWorker}
}

// do runs fn on a hashing thread and returns when it has run. It waits for a free thread at
// most queueTimeout (ErrBusy) or until ctx ends; once fn started, do waits for it to finish.
// wait, when set, observes how long the caller waited for a thread.
func (p *bcryptPool) do(ctx context.Context, queueTimeout time.Duration, wait func(time.Duration), fn func()) error {
	start := time.Now()
	job := bcryptJob{run: fn, done: make(chan struct{})}
	var timeout <-chan time.Time
	for handed := false; !handed; {
		select {
		case p.jobs <- job: // an idle worker took it
			handed = true
			continue
		default:
		}
		if handed = p.startWorker(job); handed {
			continue
		}
		if timeout == nil {
			timer := time.NewTimer(queueTimeout)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case p.jobs <- job:
			handed = true
		case <-p.ended: // a worker ended while every slot looked taken: try to start one
		case <-timeout:
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if wait != nil {
		wait(time.Since(start))
	}
	<-job.done
	return nil
}

// startWorker starts a worker for first when fewer than slots are live.
func (p *bcryptPool) startWorker(first bcryptJob) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live >= p.slots {
		return false
	}
	p.live++
	go p.work(first)
	return true
}

func (p *bcryptPool) work(job bcryptJob) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine (see bcryptPool)
	if p.lowPriority {
		lowerThreadPriority()
	}
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		job.run()
		close(job.done)
		idle.Reset(p.idle)
		select {
		case job = <-p.jobs:
		case <-idle.C:
			p.mu.Lock()
			// A job may have been handed over between the timer firing and the lock; only a
			// worker that saw none ends.
			select {
			case job = <-p.jobs:
				p.mu.Unlock()
				continue
			default:
			}
			p.live--
			p.mu.Unlock()
			select {
			case p.ended <- struct{}{}:
			default: // tokens enough for every slot are waiting already
			}
			return
		}
	}
}

// ExtraProcs is how many Ps to add to GOMAXPROCS for a hasher of slots concurrent operations,
// so that the hashing threads (each holding a P while it hashes) leave the CPUs' worth of Ps to
// everything else. The program's main applies it unless GOMAXPROCS is set explicitly; on a
// system where thread priorities cannot be lowered it is 0 (more Ps would only let bcrypt
// compete harder).
func ExtraProcs(slots int) int {
	if !threadPriorityWorks {
		return 0
	}
	return max(slots, 1)
}
