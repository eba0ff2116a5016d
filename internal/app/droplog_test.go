package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestDropLog checks that the aligner's drops are logged at most once per
// dropLogEvery, that a line counts the drops left unlogged before it, and
// that a stream id is quoted with its control characters escaped.
func TestDropLog(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &dropLog{log: slog.New(slog.NewTextHandler(&out, nil)), now: func() time.Time { return now }}
	d.drop("a\nlevel=ERROR", 3, "expired") // logged: the first
	for range 5 {
		now = now.Add(time.Second)
		d.drop("b", 1, "overflow") // within 10 s of the first: counted
	}
	now = now.Add(dropLogEvery - 5*time.Second)
	d.drop("c", 2, "expired") // 10 s after the first: logged
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), out.String())
	}
	for i, want := range []string{
		`stream="a\nlevel=ERROR" items=3 reason=expired unlogged_items=0 unlogged_drops=0`,
		`stream=c items=2 reason=expired unlogged_items=5 unlogged_drops=5`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %s, want it to contain %s", i, lines[i], want)
		}
	}
}
