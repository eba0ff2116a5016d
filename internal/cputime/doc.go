// Package cputime reads the process's CPU time, which benchmarks report
// beside wall time: on a shared machine the wall time depends on the other
// jobs, the CPU time hardly.
package cputime
