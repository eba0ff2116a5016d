package loadgen

import (
	"context"
	"fmt"
)

// Search finds the largest number of streams, at most maxStreams, whose
// run of cfg meets target. It doubles the streams from 1 until a run misses
// the target or reaches maxStreams, then bisects between the largest count
// that met it and the smallest that missed it; it assumes that a count that
// misses the target has no larger count that meets it. report, when not
// nil, gets each run's result and whether it met the target, as the run
// ends. Search returns 0 when one stream already misses the target.
func Search(ctx context.Context, cfg Config, target Target, maxStreams int, report func(r Result, met bool)) (int, error) {
	if maxStreams < 1 {
		return 0, fmt.Errorf("loadgen: search up to %d streams, want at least 1", maxStreams)
	}
	return search(maxStreams, func(n int) (bool, error) {
		c := cfg
		c.Streams = n
		r, err := Run(ctx, c)
		if err != nil {
			return false, fmt.Errorf("loadgen: %d streams: %w", n, err)
		}
		met := target.Met(r)
		if report != nil {
			report(r, met)
		}
		return met, nil
	})
}

// search is Search's strategy over try, which runs n streams and reports
// whether they met the target.
func search(maxStreams int, try func(n int) (bool, error)) (int, error) {
	good, bad := 0, maxStreams+1 // good met the target, bad did not (or is out of range)
	for n := 1; n <= maxStreams; n = min(2*n, maxStreams) {
		met, err := try(n)
		if err != nil {
			return good, err
		}
		if !met {
			bad = n
			break
		}
		good = n
		if n == maxStreams {
			return good, nil
		}
	}
	for bad-good > 1 {
		n := (good + bad) / 2
		met, err := try(n)
		if err != nil {
			return good, err
		}
		if met {
			good = n
		} else {
			bad = n
		}
	}
	return good, nil
}
