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

// previewFrame returns the preview of frame f of m: its pixels with the
// face of its vision feature row (the largest face found, whose
// expression was scored) and that face's expression probabilities.
func previewFrame(m align.Media, f visionFrame, row []float32) preview.Frame {
	p := preview.Frame{Stream: m.StreamID, Time: m.Time, Pix: f.pix, Width: f.width, Height: f.height}
	if row[vision.ColFacePresent] != 1 {
		return p
	}
	p.Faces = []preview.Face{{X: row[vision.ColFaceX], Y: row[vision.ColFaceY], W: row[vision.ColFaceW], H: row[vision.ColFaceH],
		Score: row[vision.ColFaceScore]}}
	p.Expression = make([]preview.Prob, len(expressionLabels))
	for i, l := range expressionLabels {
		p.Expression[i] = preview.Prob{Label: l, P: row[vision.ColExprAngry+i]}
	}
	return p
}
