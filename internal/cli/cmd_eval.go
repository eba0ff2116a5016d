package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/cmc-stream/cmc-stream/model"
	"github.com/cmc-stream/cmc-stream/model/eval"
	"github.com/cmc-stream/cmc-stream/model/mmsa"
)

func init() {
	commands["eval"] = command{
		summary: "compute the reference metrics of a bundle on an MMSA pickle split (and clip-id subsets)",
		run:     runEval,
	}
}

// evalResult is the --json output of eval: the metrics of the split and of
// each subset.
type evalResult struct {
	Split string `json:"split"`
	N     int    `json:"n"`
	eval.Result
	Subsets map[string]subsetResult `json:"subsets,omitempty"`
}

type subsetResult struct {
	N int `json:"n"`
	eval.Result
}

// subsetFlags collects repeated --subset NAME=IDS.txt flags.
type subsetFlags map[string]string

// String lists the subsets, for flag.Value.
func (s subsetFlags) String() string { return fmt.Sprint(map[string]string(s)) }

// Set adds one NAME=IDS.txt subset, for flag.Value.
func (s subsetFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=IDS.txt, got %q", v)
	}
	s[name] = path
	return nil
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	dir := fs.String("model", "", "model bundle `directory`")
	data := fs.String("data", "", "MMSA pickle `file`")
	splitName := fs.String("split", "test", "split to evaluate")
	asJSON := fs.Bool("json", false, "print one JSON object")
	subsets := subsetFlags{}
	fs.Var(subsets, "subset", "`NAME=IDS.txt`: also report the metrics on the clips listed (one id per line); repeatable")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *data == "" {
		return fmt.Errorf("%w: --model and --data are required", errUsage)
	}
	m, err := model.Load(*dir)
	if err != nil {
		return err
	}
	ds, err := mmsa.Load(*data)
	if err != nil {
		return err
	}
	s, ok := ds.Splits[*splitName]
	if !ok {
		return fmt.Errorf("%s: no split %q", *data, *splitName)
	}
	logits, err := splitLogits(ctx, m, s)
	if err != nil {
		return fmt.Errorf("%s: split %s: %w", *data, *splitName, err)
	}
	truth := make([]int, s.Len())
	for i, y := range s.Regression {
		truth[i] = mmsa.Label3(y)
	}
	conv := eval.Convention(m.Config.Convention)
	res := evalResult{Split: *splitName, N: s.Len(), Subsets: map[string]subsetResult{}}
	if res.Result, err = eval.Compute(logits, truth, conv); err != nil {
		return err
	}
	index := make(map[string]int, s.Len())
	for i, id := range s.IDs {
		index[id] = i
	}
	for name, path := range subsets {
		ids, err := readIDs(path)
		if err != nil {
			return err
		}
		var sl [][3]float32
		var st []int
		for _, id := range ids {
			i, ok := index[id]
			if !ok {
				return fmt.Errorf("%s: clip id %q is not in split %s", path, id, *splitName)
			}
			sl, st = append(sl, logits[i]), append(st, truth[i])
		}
		r, err := eval.Compute(sl, st, conv)
		if err != nil {
			return fmt.Errorf("subset %s: %w", name, err)
		}
		res.Subsets[name] = subsetResult{N: len(ids), Result: r}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printMetrics(stdout, fmt.Sprintf("%s (n=%d)", *splitName, res.N), res.Result)
	for name, r := range res.Subsets {
		printMetrics(stdout, fmt.Sprintf("%s (n=%d)", name, r.N), r.Result)
	}
	return nil
}

func printMetrics(w io.Writer, title string, r eval.Result) {
	fmt.Fprintf(w, "%s\n", title)
	for _, row := range []struct {
		name string
		v    float64
	}{
		{"Has0_acc_2", r.Has0Acc2}, {"Has0_F1_score", r.Has0F1}, {"Acc_3", r.Acc3}, {"F1_score_3", r.F13},
		{"Non0_acc_2", r.Non0Acc2}, {"Non0_F1_score", r.Non0F1},
		{"Non0_acc_2_reference (buggy, for comparison)", r.Non0Acc2Reference}, {"Non0_F1_score_reference (buggy)", r.Non0F1Reference},
	} {
		fmt.Fprintf(w, "  %-46s %.4f\n", row.name, row.v)
	}
}

// splitLogits runs the model over a split in batches, until ctx is done.
func splitLogits(ctx context.Context, m *model.Model, s *mmsa.Split) ([][3]float32, error) {
	run := model.NewInferencer(m, model.Options{Threads: 2})
	var out model.Output
	n := s.Len()
	logits := make([][3]float32, 0, n)
	tensors := [model.Experts]*mmsa.Tensor3{&s.Text, &s.Audio, &s.Vision}
	for lo := 0; lo < n; lo += inferBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+inferBatch, n)
		var x model.Input
		for k, t := range tensors {
			row := t.L * t.D
			x[k] = model.Sequence{Batch: hi - lo, Len: t.L, Dim: t.D, Data: t.Data[lo*row : hi*row]}
		}
		if err := run.Forward(&x, &out); err != nil {
			return nil, err
		}
		for b := range hi - lo {
			logits = append(logits, [3]float32(out.Logits[b*3:b*3+3]))
		}
	}
	return logits, nil
}

// readIDs reads one clip id per line of the file at path, trimmed of
// surrounding white space; blank lines are skipped.
func readIDs(path string) ([]string, error) {
	var ids []string
	err := scanLines(path, func(line string) error {
		if id := strings.TrimSpace(line); id != "" {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}
