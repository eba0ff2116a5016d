package loadgen_test

import (
	"fmt"
	"time"

	"github.com/cmc-stream/cmc-stream/internal/loadgen"
)

// A run meets the target when every utterance got its event, nothing was
// dropped or failed, and the p99 latency is below the bound.
func ExampleTarget_Met() {
	target := loadgen.Target{P99: 250 * time.Millisecond}
	r := loadgen.Result{Streams: 8, Expected: 56, Events: 56, P50: 120, P99: 231}
	fmt.Println(target.Met(r))
	r.Dropped = 3
	fmt.Println(target.Met(r))
	// Output:
	// true
	// false
}
