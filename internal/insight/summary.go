package insight

import (
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// speakerSummary computes the summary of one speaker's windows, in window
// order; ws is not empty.
func speakerSummary(speaker string, ws []window) event.SpeakerSummary {
	n := len(ws)
	s := event.SpeakerSummary{Speaker: speaker, Windows: n}
	var counts [3]int
	var sum float64
	worst := 0
	for i, w := range ws {
		switch w.label {
		case event.Negative:
			counts[0]++
		case event.Neutral:
			counts[1]++
		case event.Positive:
			counts[2]++
		}
		sum += w.score
		if w.score < ws[worst].score {
			worst = i
		}
		if w.conflict {
			s.ConflictWindows++
		}
		s.Disagreements.Text += b2i(w.disagree[event.TextIndex])
		s.Disagreements.Audio += b2i(w.disagree[event.AudioIndex])
		s.Disagreements.Vision += b2i(w.disagree[event.VisionIndex])
	}
	s.Share = event.LabelShare{Negative: frac(counts[0], n), Neutral: frac(counts[1], n), Positive: frac(counts[2], n)}
	s.MeanScore = sum / float64(n)
	s.MostNegativeEventID, s.MostNegativeScore = ws[worst].id, ws[worst].score
	third := max(1, n/3)
	s.FirstThirdMeanScore = meanScore(ws[:third])
	s.LastThirdMeanScore = meanScore(ws[n-third:])
	s.TrendPerMinute = trend(ws)
	d := s.Disagreements
	best := 0
	for i, c := range [3]int{d.Text, d.Audio, d.Vision} {
		if c > best {
			best = c
			s.MostDisagreeingModality = event.ModalityNames[i]
		}
	}
	return s
}

// trend returns the least-squares slope of the score over the windows'
// midpoints in minutes, or nil when the midpoints do not differ.
func trend(ws []window) *float64 {
	origin := ws[0].start
	mid := func(w window) float64 {
		return (w.start.Sub(origin) + w.end.Sub(w.start)/2).Minutes()
	}
	var mx, my float64
	for _, w := range ws {
		mx += mid(w)
		my += w.score
	}
	n := float64(len(ws))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, w := range ws {
		dx := mid(w) - mx
		sxy += dx * (w.score - my)
		sxx += dx * dx
	}
	if sxx == 0 {
		return nil
	}
	slope := sxy / sxx
	return &slope
}

func meanScore(ws []window) float64 {
	var sum float64
	for _, w := range ws {
		sum += w.score
	}
	return sum / float64(len(ws))
}

func frac(k, n int) float64 { return float64(k) / float64(n) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// summary builds the call summary of a stream's windows, grouped by
// speaker in order of first appearance.
func summary(stream string, speakers []string, windows map[string][]window, reason event.EndReason) *event.CallSummary {
	var start, end time.Time
	total := 0
	s := &event.CallSummary{Schema: event.CallSummarySchema, StreamID: stream, Reason: reason}
	for _, sp := range speakers {
		ws := windows[sp]
		for _, w := range ws {
			if start.IsZero() || w.start.Before(start) {
				start = w.start
			}
			if w.end.After(end) {
				end = w.end
			}
		}
		total += len(ws)
		s.Speakers = append(s.Speakers, speakerSummary(sp, ws))
	}
	s.Start, s.End, s.Windows = start, end, total
	s.SummaryID = event.SummaryID(stream, start)
	return s
}
