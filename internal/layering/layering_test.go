package layering

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cmc-stream/cmc-stream/"

// rule forbids the packages under from to import (directly or not) any
// package under one of the prefixes of to; except lists importers allowed
// anyway.
type rule struct {
	name   string
	from   []string
	to     []string
	except []string
}

// rules are the layering of docs/architecture.md.
var rules = []rule{
	{name: "only the main package imports the CLI", from: []string{""}, to: []string{"internal/cli"}, except: []string{"cmd/cmc-stream", "internal/cli"}},
	{name: "features import no model", from: []string{"features"}, to: []string{"model"}},
	{name: "model imports no I/O", from: []string{"model"}, to: []string{"ingest", "sink", "pipeline", "internal/app", "internal/broker"}},
	{name: "pipeline imports no flow", from: []string{"pipeline"}, to: []string{"ingest", "features", "model", "sink", "align", "event", "internal/app"}},
	{name: "align imports no flow", from: []string{"align"}, to: []string{"ingest", "features", "model", "sink", "internal/app"}},
	{name: "event is the bottom", from: []string{"event"}, to: []string{""}},
	{name: "ingest, features, model and sink do not wire the flow", from: []string{"ingest", "features", "model", "sink", "align", "pipeline"}, to: []string{"internal/app", "internal/loadgen", "internal/extract"}},
	{name: "sources do not import sinks", from: []string{"ingest"}, to: []string{"sink"}},
	{name: "sinks do not import sources", from: []string{"sink"}, to: []string{"ingest"}},
	{name: "only the command reads the environment", from: []string{""}, to: []string{"internal/envconfig"}, except: []string{"cmd/cmc-stream", "internal/cli", "internal/envconfig", "internal/onnx/onnxtest"}},
	{name: "only tests import onnxtest", from: []string{""}, to: []string{"internal/onnx/onnxtest"}},
	{name: "the TF.js converter is a set-up tool", from: []string{""}, to: []string{"internal/tfjs"}, except: []string{"internal/tfjs"}},
}

type pkg struct {
	ImportPath string
	Deps       []string
}

// listPackages returns every package of the module (tests excluded) with
// its transitive dependencies inside the module, keyed by path relative to
// the module root.
func listPackages(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Deps", "../../...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		var deps []string
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module) {
				deps = append(deps, strings.TrimPrefix(d, module))
			}
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = deps
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages, want the whole module", len(pkgs))
	}
	return pkgs
}

// under reports whether path is prefix or inside it ("" is everything).
func under(path, prefix string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

func anyUnder(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if under(path, p) {
			return true
		}
	}
	return false
}

// violations returns "importer -> dependency" for every import of pkgs
// that r forbids.
func (r rule) violations(pkgs map[string][]string) []string {
	var bad []string
	for p, deps := range pkgs {
		if !anyUnder(p, r.from) || anyUnder(p, r.except) {
			continue
		}
		for _, d := range deps {
			if anyUnder(d, r.to) && !under(d, p) {
				bad = append(bad, p+" -> "+d)
			}
		}
	}
	return bad
}

func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range r.violations(pkgs) {
				t.Errorf("forbidden import: %s", v)
			}
		})
	}
}

// TestRulesCatchViolations shows each rule failing on an import graph
// that breaks it, so that a rule that can never fire is noticed.
func TestRulesCatchViolations(t *testing.T) {
	broken := map[string]map[string][]string{
		"only the main package imports the CLI":                 {"internal/app": {"internal/cli"}},
		"features import no model":                              {"features/vision": {"internal/onnx", "model/train"}},
		"model imports no I/O":                                  {"model/train": {"pipeline"}},
		"pipeline imports no flow":                              {"pipeline": {"event"}},
		"align imports no flow":                                 {"align": {"model"}},
		"event is the bottom":                                   {"event": {"internal/wav"}},
		"ingest, features, model and sink do not wire the flow": {"sink/dashboard": {"internal/app"}},
		"sources do not import sinks":                           {"ingest/kafka": {"sink"}},
		"sinks do not import sources":                           {"sink": {"ingest/kafka"}},
		"only the command reads the environment":                {"features/vision": {"internal/envconfig"}},
		"only tests import onnxtest":                            {"internal/app": {"internal/onnx/onnxtest"}},
		"the TF.js converter is a set-up tool":                  {"features/vision": {"internal/tfjs", "internal/onnxpb"}},
	}
	for _, r := range rules {
		g, ok := broken[r.name]
		if !ok {
			t.Errorf("rule %q has no broken graph to catch", r.name)
			continue
		}
		if len(r.violations(g)) == 0 {
			t.Errorf("rule %q did not catch %v", r.name, g)
		}
	}
}
