package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// readyz returns the status and body of GET /readyz.
func readyz(addr string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestBrokerOutage runs the pipeline while its broker goes away for 10 s and
// comes back with its data dir: /readyz turns not-ready and names the
// topics, the pipeline retries with back-off, resumes, and every segment,
// including those in flight when the broker stopped, gives its event on the
// events topic, none on the dead-letter topic, with every offset committed.
func TestBrokerOutage(t *testing.T) {
	const (
		partitions = 3
		streams    = 10
		outage     = 10 * time.Second
	)
	port := freePort(t)
	dir := t.TempDir()
	start := func() *kfake.Cluster {
		t.Helper()
		c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(partitions, inTopic, outTopic, deadTopic),
			kfake.GroupMinSessionTimeout(time.Second), kfake.DataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	k := start()
	addr := k.ListenAddrs()[0]
	cfg, err := DecodeConfig([]byte(kafkaConfig(textBundle(t), addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	app, stop, _ := startApp(t, cfg, Options{})
	web := app.OpsAddr()
	ready := func(want int) func() error {
		return func() error {
			code, body, err := readyz(web)
			if err != nil {
				return err
			}
			if code != want {
				return fmt.Errorf("/readyz %d %s, want %d", code, body, want)
			}
			return nil
		}
	}
	for i := range 5 {
		produce(t, addr, inTopic, round(streams, i)...)
	}
	poll(t, "events before the outage", func() error { return errCount("events", distinct(events(t, addr)), 5*streams) })
	poll(t, "ready before the outage", ready(http.StatusOK))

	// Five more rounds are in flight when the broker stops.
	for i := 5; i < 10; i++ {
		produce(t, addr, inTopic, round(streams, i)...)
	}
	k.Close()
	down := time.Now()
	poll(t, "not ready during the outage", ready(http.StatusServiceUnavailable))
	notReady := time.Since(down)
	_, body, _ := readyz(web)
	if err := containsAll(body, inTopic, outTopic, deadTopic); err != nil {
		t.Errorf("/readyz body during the outage: %v", err)
	}
	time.Sleep(outage - time.Since(down)) // the fault lasts 10 s
	k = start()
	defer k.Close()
	up := time.Now()
	poll(t, "ready after the outage", ready(http.StatusOK))
	readyAgain := time.Since(up)
	for i := 10; i < 15; i++ {
		produce(t, addr, inTopic, round(streams, i)...)
	}
	poll(t, "every event after the outage", func() error { return errCount("events", distinct(events(t, addr)), 15*streams) })
	resumed := time.Since(up)
	poll(t, "every offset committed", func() error {
		if c, e := committedOffsets(t, addr, partitions), endOffsets(t, addr, inTopic, partitions); !slices.Equal(c, e) {
			return fmt.Errorf("committed %v, end %v", c, e)
		}
		return nil
	})
	if d := deadLetters(t, addr); len(d) > 0 {
		t.Errorf("%d dead letters after a %v outage, want none: %+v", len(d), outage, d[0])
	}
	// The README says no duplicates: each event id once on the topic.
	if evs := events(t, addr); len(evs) != distinct(evs) {
		t.Errorf("%d events for %d distinct ids after the outage, want no duplicates", len(evs), distinct(evs))
	}
	if err := stop(); err != nil {
		t.Errorf("run after the outage: %v", err)
	}
	t.Logf("outage %v: not ready after %v, ready %v after the restart, every event %v after the restart; %d events for %d segments",
		outage, notReady.Round(time.Millisecond), readyAgain.Round(time.Millisecond), resumed.Round(time.Millisecond), len(events(t, addr)), 15*streams)
}
