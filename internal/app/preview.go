package app

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/features/vision"
	"github.com/cmc-stream/cmc-stream/sink/preview"
)

// newPreview returns the hub of the dashboard's live preview, its metrics
// on reg, or nil unless the HTTP sink h asks for it.
func newPreview(h *HTTPSink, reg prometheus.Registerer) (*preview.Hub, error) {
	if h == nil || !h.Preview {
		return nil, nil
	}
	return preview.New(preview.Config{Metrics: reg})
}

// previewHandler returns the preview hub as the HTTP sink's /preview, or
// nil without one.
func (a *App) previewHandler() http.Handler {
	if a.preview == nil {
		return nil
	}
	return a.preview
}

// closePreview stops the preview hub, if any.
func (a *App) closePreview() {
	if a.preview != nil {
		a.preview.Close()
	}
}

// expressionLabels are the classes of the vision expression columns, such
// as "happy" for expr_happy.
var expressionLabels = func() []string {
	cols := vision.Columns()[vision.ColExprAngry:]
	labels := make([]string, len(cols))
	for i, c := range cols {
		labels[i] = strings.TrimPrefix(c, "expr_")
	}
	return labels
}()

// previewFrame returns the preview of frame f of m: its pixels, every face
// its extractor found in it, the one its vision feature row holds (the
// largest) marked as scored, and that face's expression probabilities.
func previewFrame(m align.Media, f visionFrame, row []float32) preview.Frame {
	p := preview.Frame{Stream: m.StreamID, Time: m.Time, Pix: f.pix, Width: f.width, Height: f.height}
	scored := row[vision.ColFacePresent] == 1
	for _, c := range f.in.ex.Faces(nil) {
		p.Faces = append(p.Faces, preview.Face{X: c.X, Y: c.Y, W: c.W, H: c.H, Score: c.Score,
			Scored: scored && c.X == row[vision.ColFaceX] && c.Y == row[vision.ColFaceY] && c.W == row[vision.ColFaceW] && c.H == row[vision.ColFaceH]})
	}
	if !scored {
		return p
	}
	p.Expression = make([]preview.Prob, len(expressionLabels))
	for i, l := range expressionLabels {
		p.Expression[i] = preview.Prob{Label: l, P: row[vision.ColExprAngry+i]}
	}
	return p
}
