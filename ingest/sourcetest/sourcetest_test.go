package sourcetest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cmc-stream/cmc-stream/ingest/sourcetest"
	"github.com/cmc-stream/cmc-stream/pipeline"
)

// memory is a source of the numbers 0..n-1 that acknowledges each once:
// finite, or live (it then waits for ctx after them).
type memory struct {
	n    int
	live bool

	mu        sync.Mutex
	next      int
	acked     map[int]int
	connected bool
}

func (m *memory) Connect(context.Context) error {
	m.connected = true
	return nil
}

func (m *memory) Read(ctx context.Context) (int, pipeline.AckFunc, error) {
	if !m.connected {
		return 0, nil, pipeline.ErrNotConnected
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if m.next == m.n {
		if !m.live {
			return 0, nil, pipeline.ErrEndOfInput
		}
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	v := m.next
	m.next++
	return v, func(context.Context, error) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.acked[v]++
		return nil
	}, nil
}

func (m *memory) Close(context.Context) error { return nil }

// TestSuite runs the suite on the in-memory source, finite and live, and
// checks that it read the numbers in order and acknowledged each once.
func TestSuite(t *testing.T) {
	for _, live := range []bool{false, true} {
		sourcetest.Run(t, func(t *testing.T) sourcetest.Fixture[int] {
			m := &memory{n: 5, live: live, acked: map[int]int{}}
			return sourcetest.Fixture[int]{Source: m, Items: 5, Live: live, Check: func(t *testing.T, got []int) {
				for i, v := range got {
					if v != i {
						t.Errorf("item %d = %d", i, v)
					}
				}
				m.mu.Lock()
				defer m.mu.Unlock()
				for v := range 5 {
					if m.acked[v] != 1 {
						t.Errorf("item %d acknowledged %d times, want once", v, m.acked[v])
					}
				}
			}}
		})
	}
}
