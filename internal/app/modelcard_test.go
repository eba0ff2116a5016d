package app

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmc-stream/cmc-stream/event"
)

// showcaseUtterance is one row of demo/showcase_labels.csv: the text and
// the labels (-1, 0, 1) the showcase was made with.
type showcaseUtterance struct {
	text                   string
	label, lt, la, lv      event.Label
	conflicting            bool
	gotL, gotT, gotA, gotV event.Label // what the model said: fused, text, audio, vision
}

// csvLabel maps the demo's label codes to event labels.
var csvLabel = map[string]event.Label{"-1": event.Negative, "0": event.Neutral, "1": event.Positive}

// readCSV reads a CSV file with a header into maps keyed by column name.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, col := range rows[0] {
			m[col] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestModelCardShowcase checks what demo/model/MODEL_CARD.md says about the
// showcase against the bundle and the demo media: the showcase's sentences
// are held out (no train, valid or test clip of demo/labels.csv says one),
// its utterance and conflict counts are those of demo/showcase_labels.csv,
// and the matches the card states (fused label against the multimodal label,
// each expert against its modality's label, and the text expert's misses it
// quotes) are recomputed by running configs/files.yaml, one event per
// utterance, with the bundle.
func TestModelCardShowcase(t *testing.T) {
	t.Chdir("../..")
	card, err := os.ReadFile("demo/model/MODEL_CARD.md")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(card, []byte("On the showcase clip"))
	if i < 0 {
		t.Fatal("MODEL_CARD.md: no paragraph starting \"On the showcase clip\"")
	}
	para, _, _ := strings.Cut(string(card[i:]), "\n\n")
	para = strings.Join(strings.Fields(para), " ")

	// Held out: the card says so, and no clip says a showcase sentence.
	if !strings.Contains(para, "held out: no train, valid or test clip says them") {
		t.Errorf("the card's showcase paragraph does not say the showcase is held out:\n%s", para)
	}
	clipText := map[string]string{}
	for _, r := range readCSV(t, "demo/labels.csv") {
		clipText[strings.ToLower(strings.TrimSpace(r["text"]))] = r["clip_id"] + " (" + r["mode"] + ")"
	}
	var utts []*showcaseUtterance
	for _, r := range readCSV(t, "demo/showcase_labels.csv") {
		u := &showcaseUtterance{text: r["text"], label: csvLabel[r["label"]], lt: csvLabel[r["label_T"]], la: csvLabel[r["label_A"]], lv: csvLabel[r["label_V"]]}
		u.conflicting = u.lt != u.la || u.la != u.lv
		if clip, ok := clipText[strings.ToLower(strings.TrimSpace(u.text))]; ok {
			t.Errorf("showcase sentence %q is also clip %s's", u.text, clip)
		}
		utts = append(utts, u)
	}

	// The events of the showcase, one per utterance, matched by transcript.
	cfg, err := LoadConfig("configs/files.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Assets.Dir = testNative.AssetsDir
	adaptFiles(t, cfg)
	// The figures are those of complete windows: each window waits for
	// its frames (longer than files.yaml's 30 s max_wait on a very busy
	// machine, if need be) and nothing is dropped as late.
	cfg.Window.MaxWait = time.Minute
	cfg.Window.AllowedLateness = time.Minute
	cfg.Window.MaxBuffered = 1 << 20
	stdout := &syncWriter{w: &bytes.Buffer{}}
	runToEnd(t, cfg, stdout)
	byText := map[string]*showcaseUtterance{}
	for _, u := range utts {
		byText[u.text] = u
	}
	for sc := bufio.NewScanner(strings.NewReader(stdout.String())); sc.Scan(); {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		if e.Schema != event.Schema {
			continue
		}
		u, ok := byText[e.Transcript]
		if !ok || u.gotL != "" {
			t.Fatalf("event %s: transcript %q is not one showcase utterance's, or is seen twice", e.EventID, e.Transcript)
		}
		if m := e.Modalities; !m.Text.Present || !m.Audio.Present || !m.Vision.Present {
			t.Errorf("event %s: modalities %v, want all three", e.EventID, m.Present())
		}
		u.gotL, u.gotT, u.gotA, u.gotV = e.Label, e.Modalities.Text.Label, e.Modalities.Audio.Label, e.Modalities.Vision.Label
	}
	var conflicting, fused, text, audio, vision int
	misses := map[string]event.Label{}
	for _, u := range utts {
		if u.gotL == "" {
			t.Fatalf("no event for utterance %q", u.text)
		}
		t.Logf("%q: labels %s (T %s, A %s, V %s); model %s (T %s, A %s, V %s)", u.text, u.label, u.lt, u.la, u.lv, u.gotL, u.gotT, u.gotA, u.gotV)
		count := func(n *int, got, want event.Label) {
			if got == want {
				*n++
			}
		}
		count(&fused, u.gotL, u.label)
		count(&text, u.gotT, u.lt)
		count(&audio, u.gotA, u.la)
		count(&vision, u.gotV, u.lv)
		if u.conflicting {
			conflicting++
		}
		if u.gotT != u.lt {
			misses[u.text] = u.gotT
		}
	}

	// The card's figures.
	n := strconv.Itoa(len(utts))
	for _, c := range []struct {
		pattern string
		got     int
	}{
		{`\((\d+) utterances, `, len(utts)},
		{` utterances, (\d+) with conflicting modalities`, conflicting},
		{`the fused label matched the showcase's multimodal label (\d+) of ` + n + ` times`, fused},
		{`the text expert matched the text label (\d+) of ` + n + `\b`, text},
		{`audio (\d+) of ` + n + `\b`, audio},
		{`vision (\d+) of ` + n + `\b`, vision},
	} {
		m := regexp.MustCompile(c.pattern).FindStringSubmatch(para)
		if m == nil {
			t.Errorf("the card's showcase paragraph has no %q", c.pattern)
			continue
		}
		if m[1] != strconv.Itoa(c.got) {
			t.Errorf("the card says %q, measured %d", m[0], c.got)
		}
	}
	// The text expert's misses the card quotes: "sentence" label.
	_, afterText, _ := strings.Cut(para, "the text expert matched")
	quoted := regexp.MustCompile(`"([^"]+)" (positive|neutral|negative)`).FindAllStringSubmatch(afterText, -1)
	for _, q := range quoted {
		if got, ok := misses[q[1]]; !ok || string(got) != q[2] {
			t.Errorf("the card says the text expert called %q %s; measured misses %v", q[1], q[2], misses)
		}
	}
	if len(quoted) != len(misses) {
		t.Errorf("the card quotes %d text-expert misses, measured %d: %v", len(quoted), len(misses), misses)
	}
}
