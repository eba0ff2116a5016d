package dashboard_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/sink"
	"github.com/cmc-stream/cmc-stream/sink/dashboard"
)

// callsScreenshot, when set, is where TestDashboardManyCalls writes its
// screenshot, e.g.
//
//	go test ./sink/dashboard -run TestDashboardManyCalls -args -calls-screenshot=$PWD/docs/dashboard-calls.png
var callsScreenshot = flag.String("calls-screenshot", "", "write the screenshot of TestDashboardManyCalls to this PNG file")

// callsView is what the calls list and the call card show.
type callsView struct {
	Rows    [][]string `json:"rows"` // per row: stream, speaker, label, score, alerts, conflict, state
	Summary string     `json:"summary"`
	Alerts  []string   `json:"alerts"`
}

const callsJS = `(() => {
  const rows = [...document.querySelectorAll("#calls-body tr")].map((tr) =>
    [...tr.querySelectorAll("td")].filter((td) => td.className !== "spark").map((td) => td.textContent));
  return JSON.stringify({rows: rows,
    summary: document.getElementById("summary-state").textContent + " | " + document.getElementById("summary-speakers").textContent,
    alerts: [...document.querySelectorAll("#alert-list li")].map((li) => li.textContent)});
})()`

func (d *page) calls() callsView {
	d.t.Helper()
	ctx, cancel := d.context()
	defer cancel()
	var raw string
	if err := d.page.Eval(ctx, callsJS, &raw); err != nil {
		d.t.Fatal(err)
	}
	var v callsView
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		d.t.Fatal(err)
	}
	return v
}

func (d *page) waitCalls(what string, ok func(callsView) bool) callsView {
	d.t.Helper()
	for deadline := time.Now().Add(testTimeout); ; {
		v := d.calls()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("waiting for %s; last view %+v", what, v)
		}
		time.Sleep(pollEvery)
	}
}

func (d *page) click(selector string) {
	d.t.Helper()
	ctx, cancel := d.context()
	defer cancel()
	var ok bool
	if err := d.page.Eval(ctx, `(() => { const e = document.querySelector(`+fmt.Sprintf("%q", selector)+`); if (!e) return false; e.click(); return true; })()`, &ok); err != nil || !ok {
		d.t.Fatalf("click %s: %v %v", selector, ok, err)
	}
}

// TestDashboardManyCalls writes 20 calls' events, alerts of two and the
// summary of one to the real HTTP sink, then opens the page: connecting
// mid-call, it gets the history the sink kept and lists every call with its
// label, score, alerts, conflict marker and state; the list sorts by a
// column; a row opens the call's alerts and summary; live events update it.
func TestDashboardManyCalls(t *testing.T) {
	h, err := sink.NewHTTP(sink.HTTPConfig{Addr: "127.0.0.1:0", Static: dashboard.FS()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	const calls, windows = 20, 5
	id := func(i int) string { return fmt.Sprintf("call-%02d", i) }
	last := map[string]event.Event{}
	for seq := range uint64(windows) {
		for i := range calls {
			e := valid(t, sample(id(i), seq+uint64(i), false))
			if err := h.Write(t.Context(), []event.Event{e}); err != nil {
				t.Fatal(err)
			}
			last[id(i)] = e
		}
	}
	alert := func(stream, rule string) *event.Alert {
		e := last[stream]
		return &event.Alert{Schema: event.AlertSchema, AlertID: event.AlertID(rule, e.EventID), Rule: rule,
			Condition: "conflict in 1 of the last 2 windows", StreamID: stream, Speaker: "customer", At: e.Window.End,
			EventIDs: []string{e.EventID}, Value: 1}
	}
	trend := -0.12
	summary := &event.CallSummary{Schema: event.CallSummarySchema, SummaryID: event.SummaryID(id(5), last[id(5)].Window.Start),
		StreamID: id(5), Start: last[id(5)].Window.Start, End: last[id(5)].Window.End, Reason: event.EndOfCall, Windows: windows,
		Speakers: []event.SpeakerSummary{{Speaker: "customer", Windows: windows, Share: event.LabelShare{Negative: 0.6, Positive: 0.4},
			MeanScore: -0.2, TrendPerMinute: &trend, FirstThirdMeanScore: 0.1, LastThirdMeanScore: -0.5,
			MostNegativeEventID: last[id(5)].EventID, MostNegativeScore: -0.7, ConflictWindows: 2,
			Disagreements: event.Disagreements{Text: 2}, MostDisagreeingModality: "text"}}}
	if err := h.Publish(t.Context(), []event.Record{alert(id(3), "modalities-disagree"), alert(id(7), "turned-negative"), summary}); err != nil {
		t.Fatal(err)
	}

	d := openDashboard(t, "http://"+h.Addr()+"/")
	v := d.waitCalls("the 20 calls from the sink's history", func(v callsView) bool { return len(v.Rows) == calls })
	byStream := map[string][]string{}
	for _, r := range v.Rows {
		byStream[r[0]] = r
	}
	for i := range calls {
		r, ok := byStream[id(i)]
		e := last[id(i)]
		if !ok {
			t.Errorf("%s not listed", id(i))
			continue
		}
		wantConflict := ""
		if e.Consensus.Conflict {
			wantConflict = "conflict"
		}
		if r[1] != "customer" || r[2] != string(e.Label) || r[3] != fmt.Sprintf("%+.2f", e.Score) || r[5] != wantConflict {
			t.Errorf("%s row %q, want customer, %s, %+.2f, conflict %q", id(i), r, e.Label, e.Score, wantConflict)
		}
	}
	if r := byStream[id(3)]; r[4] != "1 (modalities-disagree)" {
		t.Errorf("call-03 alerts %q", r[4])
	}
	if r := byStream[id(7)]; r[4] != "1 (turned-negative)" {
		t.Errorf("call-07 alerts %q", r[4])
	}
	if r := byStream[id(5)]; r[6] != "ended" || byStream[id(0)][6] != "live" {
		t.Errorf("states: call-05 %q, call-00 %q", r[6], byStream[id(0)][6])
	}

	// Sorting: by stream ascending, then descending.
	d.click(`#calls th button[data-sort="stream"]`)
	d.waitCalls("sorted by stream", func(v callsView) bool { return v.Rows[0][0] == id(0) && v.Rows[calls-1][0] == id(calls-1) })
	d.click(`#calls th button[data-sort="stream"]`)
	d.waitCalls("sorted by stream, descending", func(v callsView) bool { return v.Rows[0][0] == id(calls-1) })
	// By alerts: the two calls with alerts first.
	d.click(`#calls th button[data-sort="alerts"]`)
	d.waitCalls("sorted by alerts", func(v callsView) bool {
		return v.Rows[0][4] != "0" && v.Rows[1][4] != "0" && v.Rows[2][4] == "0"
	})

	// The detail of an ended call: its summary; of a call with an alert.
	d.click(`#calls-body tr[data-stream="call-05"]`)
	v = d.waitCalls("call-05's summary", func(v callsView) bool { return strings.HasPrefix(v.Summary, "ended (end_of_call): 5 windows") })
	for _, want := range []string{"mean score-0.20", "trend-0.12 / min", "first third, last third+0.10, -0.50", "disagreed mosttext", "negative 60%"} {
		if !strings.Contains(v.Summary, want) {
			t.Errorf("summary %q lacks %q", v.Summary, want)
		}
	}
	d.click(`#calls-body tr[data-stream="call-03"]`)
	v = d.waitCalls("call-03's alert", func(v callsView) bool { return len(v.Alerts) == 1 })
	if !strings.HasPrefix(v.Alerts[0], "modalities-disagree [customer]: conflict in 1 of the last 2 windows (value 1, events "+last[id(3)].EventID) ||
		!strings.HasPrefix(v.Summary, "call in progress") {
		t.Errorf("call-03: alerts %q, summary %q", v.Alerts, v.Summary)
	}

	// A live event after the page connected updates its row.
	e := valid(t, sample(id(0), 100, false))
	if err := h.Write(t.Context(), []event.Event{e}); err != nil {
		t.Fatal(err)
	}
	d.waitCalls("call-00's live event", func(v callsView) bool {
		for _, r := range v.Rows {
			if r[0] == id(0) {
				return r[3] == fmt.Sprintf("%+.2f", e.Score) && r[2] == string(e.Label)
			}
		}
		return false
	})

	ctx, cancel := d.context()
	defer cancel()
	shot, err := d.page.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkScreenshot(t, shot)
	if *callsScreenshot != "" {
		if err := os.WriteFile(*callsScreenshot, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
