package auth

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadNice reads the calling thread's nice value from /proc (field 19 of its stat line).
func threadNice(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/stat")
	if err != nil {
		t.Skipf("no /proc/thread-self: %v", err)
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis
	// start at field 3.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(fields[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHashingThreadsRunAtLowestPriority: the pool's jobs run on threads of nice 19 when asked
// (and at the priority they had otherwise), and the
// thread of an ordinary goroutine keeps its priority after the pool ran (a lowered thread is
// never handed back to the Go scheduler).
func TestHashingThreadsRunAtLowestPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	p := newBcryptPool(2)
	p.lowPriority = true
	for range 4 {
		var nice int
		if err := p.do(context.Background(), time.Second, nil, func() { nice = threadNice(t) }); err != nil {
			t.Fatal(err)
		}
		if nice != hashingNice {
			t.Fatalf("a hashing job ran at nice %d, want %d", nice, hashingNice)
		}
	}
	normal := newBcryptPool(1)
	var nice int
	if err := normal.do(context.Background(), time.Second, nil, func() { nice = threadNice(t) }); err != nil || nice != before {
		t.Fatalf("without lowPriority a job ran at nice %d (err %v), want %d", nice, err, before)
	}
	if after := threadNice(t); after != before {
		t.Fatalf("the test's own thread went from nice %d to %d", before, after)
	}
}
