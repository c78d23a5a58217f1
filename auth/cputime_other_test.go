//go:build !linux

package auth_test

// threadCPUTime is unknown here: the benchmark then does not report the metric.
func threadCPUTime() int64 { return 0 }
