package cli

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cmc-stream/cmc-stream/internal/readmetest"
)

// TestREADMECommands checks every command line README.md shows, in its
// inline code spans and in its shell code blocks, against the commands:
//   - `cmc-stream CMD [SUB] --flag ...` (also `bench pipeline --streams 8`
//     and the like, without the binary's name): the command and its
//     subcommand exist, every flag is one that `CMD SUB -h` lists, a bool
//     flag has no separate value and any other flag has one (unless it
//     ends the line, a mention such as `bench pipeline --cpuprofile`), and nothing
//     is left over but the positional arguments of `config lint` and
//     `schema`, which run when they name a real file or schema;
//   - a flag shown on its own (`--for DURATION`) is a flag of a command
//     the same paragraph or section names (of any command when none is
//     named);
//   - `go test ... -run PATTERN ./pkg` (or `-bench PATTERN`): every package
//     exists and PATTERN matches a test (benchmark) of each, read from its
//     test files, so that a cited test that was renamed or a pattern that
//     runs nothing in one of the packages fails here;
//   - `make TARGET`: the Makefile has the target.
func TestREADMECommands(t *testing.T) {
	doc, err := readmetest.Read("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	c := &readmeChecker{flags: map[string]map[string]bool{}, tests: map[string][]string{}, makefile: string(makefile)}
	for _, l := range readmeCommandLines(doc) {
		for _, e := range c.check(l) {
			t.Errorf("README.md:%d: `%s`: %s", l.line, l.text, e)
		}
	}
	// The README's command lines at the time of writing: 69 invocations,
	// 34 flags shown on their own, 9 go test lines, 26 make lines.
	t.Logf("checked %v", c.checked)
	for kind, least := range map[string]int{"invocation": 60, "flag": 30, "go test": 8, "make": 20} {
		if c.checked[kind] < least {
			t.Errorf("checked %d README %s lines, want at least %d: does the reader still find them?", c.checked[kind], kind, least)
		}
	}
}

// TestREADMECommandsCatch shows the checker failing on what it is there
// to catch: a renamed flag, a bool given a value, a value flag without
// one, an unknown command or subcommand, a go test pattern or package
// that runs nothing, a missing make target.
func TestREADMECommandsCatch(t *testing.T) {
	md := "# x\n\n" +
		"Run `cmc-stream demo --fr 30s`, `cmc-stream demo --json yes`, `cmc-stream run --config --json`,\n" +
		"`cmc-stream play --json`, `bench pipelines --streams 8`, `cmc-stream features audio|video --input F`,\n" +
		"`go test -run TestNoSuchTest ./internal/cli`, `go test -run Export ./model/nosuch`,\n" +
		"`go test ./model/onnxexport ./internal/cli -run ExportNeedsFlags`, `make no-such-target`,\n" +
		"`cmc-stream schema cmc.sentiment.v0`, `cmc-stream demo 30s`.\n\n" +
		"`train` takes `--no-such-flag`.\n"
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := readmetest.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &readmeChecker{flags: map[string]map[string]bool{}, tests: map[string][]string{}, makefile: "build:\n"}
	want := map[string]string{
		"cmc-stream demo --fr 30s":                                        "no flag --fr",
		"cmc-stream demo --json yes":                                      `bool flag --json takes no separate value`,
		"cmc-stream run --config --json":                                  "--config needs a value",
		"cmc-stream play --json":                                          `no command "play"`,
		"bench pipelines --streams 8":                                     "", // not an invocation: no bench target of that name
		"cmc-stream features audio|video --input F":                       `no subcommand "features video"`,
		"go test -run TestNoSuchTest ./internal/cli":                      "matches no test in ./internal/cli",
		"go test -run Export ./model/nosuch":                              "./model/nosuch: no test files",
		"go test ./model/onnxexport ./internal/cli -run ExportNeedsFlags": "matches no test in ./model/onnxexport",
		"make no-such-target":                                             `no target "no-such-target"`,
		"cmc-stream schema cmc.sentiment.v0":                              "exit 2",
		"cmc-stream demo 30s":                                             `unexpected argument "30s"`,
		"--no-such-flag":                                                  "no command train has it",
	}
	got := map[string]string{}
	for _, l := range readmeCommandLines(doc) {
		got[l.text] = strings.Join(c.check(l), "; ")
	}
	for line, w := range want {
		g, ok := got[line]
		switch {
		case w == "" && ok && g != "":
			t.Errorf("`%s`: checked (%s), want it not taken for a command line", line, g)
		case w != "" && !strings.Contains(g, w):
			t.Errorf("`%s`: got %q, want an error containing %q", line, g, w)
		}
	}
}

// readmeLine is one command line of the README, with the commands its
// paragraph and section name, which scope a flag shown on its own.
type readmeLine struct {
	text  string
	line  int
	scope []string // "cmd" or "cmd sub"
}

// readmeCommandLines returns the README's inline code spans and the lines
// of its shell code blocks (comments and prompts removed), each scoped by
// the commands named in its paragraph and its section heading.
func readmeCommandLines(doc *readmetest.Doc) []readmeLine {
	var lines []readmeLine
	paraScope := map[int][]string{}
	for _, s := range doc.Spans {
		if cmd := commandOf(s.Text); cmd != "" {
			paraScope[s.Para] = append(paraScope[s.Para], cmd)
		}
	}
	for _, s := range doc.Spans {
		scope := slices.Clone(paraScope[s.Para])
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(s.Heading, -1) {
			if cmd := commandOf(m[1]); cmd != "" {
				scope = append(scope, cmd)
			}
		}
		lines = append(lines, readmeLine{text: s.Text, line: s.Line, scope: scope})
	}
	for _, b := range doc.Blocks {
		if b.Lang != "sh" && b.Lang != "console" && b.Lang != "bash" {
			continue
		}
		for i, l := range strings.Split(b.Text, "\n") {
			if j := strings.Index(l, " #"); j >= 0 {
				l = l[:j]
			}
			l = strings.TrimPrefix(strings.TrimSpace(l), "$ ")
			if l != "" {
				lines = append(lines, readmeLine{text: l, line: b.Line + 1 + i})
			}
		}
	}
	return lines
}

// commandOf returns the command ("cmd" or "cmd sub") a code span invokes or
// names, or "". A span naming a subcommand's alternatives (`features
// audio|vision`) returns the first.
func commandOf(span string) string {
	inv, ok := parseInvocation(span)
	if !ok || inv.cmd == "" {
		if _, ok := commands[span]; ok {
			return span
		}
		return ""
	}
	if len(inv.subs) > 0 {
		return inv.cmd + " " + inv.subs[0]
	}
	return inv.cmd
}

// subcommands returns the subcommands of cmd, nil for a command without.
func subcommands(cmd string) []string {
	switch cmd {
	case "bench":
		return slices.Sorted(maps.Keys(benchTargets))
	case "features":
		return slices.Sorted(maps.Keys(featureKinds))
	case "config":
		return []string{"lint"}
	}
	return nil
}

// invocation is a parsed `cmc-stream CMD [SUB] ARGS...` line.
type invocation struct {
	cmd     string
	badCmd  string   // a command name that does not exist
	subs    []string // the subcommand or its alternatives (`audio|vision`)
	badSubs []string
	args    []string
}

var envAssign = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)

// parseInvocation parses a command line of cmc-stream: the binary's name
// (after environment assignments and /usr/bin/time) and a command, or,
// without the binary's name, a command with subcommands followed by one of
// them. ok is false when the line invokes no cmc-stream command.
func parseInvocation(line string) (inv invocation, ok bool) {
	toks := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(line))
	for len(toks) > 0 && (envAssign.MatchString(toks[0]) || toks[0] == "/usr/bin/time") {
		toks = toks[1:]
	}
	named := len(toks) > 0 && (toks[0] == "cmc-stream" || strings.HasSuffix(toks[0], "/cmc-stream"))
	if named {
		toks = toks[1:]
	}
	if len(toks) == 0 {
		return inv, false
	}
	if _, exists := commands[toks[0]]; !exists {
		if named {
			return invocation{badCmd: toks[0]}, true
		}
		return inv, false
	}
	inv.cmd, toks = toks[0], toks[1:]
	if subs := subcommands(inv.cmd); subs != nil && len(toks) > 0 && !strings.HasPrefix(toks[0], "-") {
		for s := range strings.SplitSeq(toks[0], "|") {
			if slices.Contains(subs, s) {
				inv.subs = append(inv.subs, s)
			} else {
				inv.badSubs = append(inv.badSubs, s)
			}
		}
		toks = toks[1:]
		if !named && len(inv.subs) == 0 {
			return invocation{}, false // prose such as `config file`
		}
	} else if !named && (len(toks) == 0 || !strings.HasPrefix(toks[0], "--")) {
		return invocation{}, false // a command named, not invoked
	}
	inv.args = toks
	return inv, true
}

// readmeChecker checks command lines, caching what it learns.
type readmeChecker struct {
	flags    map[string]map[string]bool // "cmd sub" -> flag name -> is a bool
	tests    map[string][]string        // package dir -> its test function names
	makefile string
	checked  map[string]int
}

func (c *readmeChecker) count(kind string) {
	if c.checked == nil {
		c.checked = map[string]int{}
	}
	c.checked[kind]++
}

// check returns what is wrong with one README line (nil when it is no
// command line or a right one).
func (c *readmeChecker) check(l readmeLine) []string {
	switch {
	case strings.HasPrefix(l.text, "go test "):
		c.count("go test")
		return c.checkGoTest(l.text)
	case strings.HasPrefix(l.text, "make "):
		c.count("make")
		return c.checkMake(l.text)
	case strings.HasPrefix(l.text, "--"):
		c.count("flag")
		return c.checkBareFlag(l)
	}
	inv, ok := parseInvocation(l.text)
	if !ok {
		return nil
	}
	c.count("invocation")
	return c.checkInvocation(inv)
}

// commandFlags returns the flags `cmc-stream CMD [SUB] -h` lists, each
// with whether it is a bool (listed without a value name). Commands
// without flags (config, schema) have none; a command with flags whose -h
// fails or lists none is an error.
func (c *readmeChecker) commandFlags(cmd string) (map[string]bool, error) {
	if f, ok := c.flags[cmd]; ok {
		return f, nil
	}
	f := map[string]bool{}
	if cmd != "schema" && cmd != "config lint" {
		code, _, stderr := runCLI(append(strings.Fields(cmd), "-h")...)
		// flag.PrintDefaults: "  -name" then " valuename" for non-bools.
		for _, m := range regexp.MustCompile(`(?m)^  -(\S+)( \S+)?(\t|$)`).FindAllStringSubmatch(stderr, -1) {
			f[m[1]] = m[2] == ""
		}
		if code != exitOK || len(f) == 0 {
			return nil, fmt.Errorf("cmc-stream %s -h: exit %d, %d flags listed:\n%s", cmd, code, len(f), stderr)
		}
	}
	c.flags[cmd] = f
	return f, nil
}

func (c *readmeChecker) checkInvocation(inv invocation) []string {
	if inv.badCmd != "" {
		return []string{fmt.Sprintf("no command %q", inv.badCmd)}
	}
	var errs []string
	for _, s := range inv.badSubs {
		errs = append(errs, fmt.Sprintf("no subcommand %q (there are %s)", inv.cmd+" "+s, strings.Join(subcommands(inv.cmd), ", ")))
	}
	if subs := subcommands(inv.cmd); subs != nil && len(inv.subs) == 0 {
		if len(inv.badSubs) == 0 {
			errs = append(errs, fmt.Sprintf("%s needs a subcommand (%s)", inv.cmd, strings.Join(subs, ", ")))
		}
		return errs
	}
	names := []string{inv.cmd}
	if len(inv.subs) > 0 {
		names = names[:0]
		for _, s := range inv.subs {
			names = append(names, inv.cmd+" "+s)
		}
	}
	for _, name := range names {
		errs = append(errs, c.checkArgs(name, inv.args)...)
	}
	return errs
}

// checkArgs checks the arguments of `cmc-stream name`.
func (c *readmeChecker) checkArgs(name string, args []string) []string {
	flags, err := c.commandFlags(name)
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || len(positional) > 0 {
			positional = append(positional, a) // flags stop at the first argument, as in package flag
			continue
		}
		flagName, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		isBool, ok := flags[flagName]
		if flagName == "h" || flagName == "help" { // package flag's own
			isBool, ok = true, len(flags) > 0
		}
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("cmc-stream %s has no flag --%s (it has %s)", name, flagName, flagList(flags)))
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++ // its value, most likely
			}
		case isBool && !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
			errs = append(errs, fmt.Sprintf("cmc-stream %s: bool flag --%s takes no separate value (%q would be an unexpected argument)", name, flagName, args[i+1]))
			i++
		case !isBool && !hasValue && i+1 < len(args):
			// A value flag last on the line is a mention (`bench pipeline
			// --cpuprofile`); followed by another flag it lacks its value.
			if strings.HasPrefix(args[i+1], "-") {
				errs = append(errs, fmt.Sprintf("cmc-stream %s: --%s needs a value", name, flagName))
			} else {
				i++
			}
		}
	}
	switch name {
	case "schema", "config lint":
		if len(positional) > 1 {
			errs = append(errs, fmt.Sprintf("cmc-stream %s takes one argument, not %q", name, positional))
		}
		if len(positional) == 1 && positional[0] != strings.ToUpper(positional[0]) { // not a placeholder such as FILE
			args := append(strings.Fields(name), positional[0])
			if name == "config lint" {
				args[2] = "../../" + args[2]
			}
			if code, _, stderr := runCLI(args...); code != exitOK {
				errs = append(errs, fmt.Sprintf("exit %d: %s", code, strings.TrimSpace(stderr)))
			}
		}
	default:
		if len(positional) > 0 {
			errs = append(errs, fmt.Sprintf("cmc-stream %s: unexpected argument %q", name, positional[0]))
		}
	}
	return errs
}

func flagList(flags map[string]bool) string {
	if len(flags) == 0 {
		return "none"
	}
	var s []string
	for _, n := range slices.Sorted(maps.Keys(flags)) {
		s = append(s, "--"+n)
	}
	return strings.Join(s, " ")
}

// checkBareFlag checks a flag shown on its own, with or without a value:
// a flag of a command in its scope, of any command when none is.
func (c *readmeChecker) checkBareFlag(l readmeLine) []string {
	toks := strings.Fields(l.text)
	flagName, _, hasValue := strings.Cut(strings.TrimLeft(toks[0], "-"), "=")
	hasValue = hasValue || len(toks) > 1
	scope := l.scope
	if len(scope) == 0 {
		scope = slices.Sorted(maps.Keys(commands))
	}
	var names []string
	for _, cmd := range scope {
		if subs := subcommands(cmd); subs != nil { // `bench` in a heading: each target
			for _, s := range subs {
				names = append(names, cmd+" "+s)
			}
			continue
		}
		names = append(names, cmd)
	}
	for _, name := range names {
		flags, err := c.commandFlags(name)
		if err != nil {
			return []string{err.Error()}
		}
		if isBool, ok := flags[flagName]; ok {
			if isBool && hasValue {
				return []string{fmt.Sprintf("cmc-stream %s: bool flag --%s shown with a value", name, flagName)}
			}
			return nil
		}
	}
	return []string{fmt.Sprintf("no flag --%s: no command %s has it", flagName, strings.Join(names, ", "))}
}

// checkGoTest checks a `go test` line: its packages exist and have test
// files, and its -run pattern (its -bench pattern when it has one, since
// then -run usually excludes every test) matches a function of each.
func (c *readmeChecker) checkGoTest(line string) []string {
	toks := strings.Fields(line)[2:]
	var pkgs []string
	var run, bench string
	for i := 0; i < len(toks); i++ {
		switch tok := toks[i]; {
		case strings.HasPrefix(tok, "./"):
			pkgs = append(pkgs, tok)
		case (tok == "-run" || tok == "-bench") && i+1 < len(toks):
			i++
			p := strings.Trim(toks[i], `'"`)
			if tok == "-run" {
				run = p
			} else {
				bench = p
			}
		}
	}
	prefix, pattern := "Test", run
	if bench != "" {
		prefix, pattern = "Benchmark", bench
	}
	var top *regexp.Regexp
	if pattern != "" {
		// go test matches each level of a name split at '/' against the
		// pattern's part at that level; the top level names a function.
		p, _, _ := strings.Cut(pattern, "/")
		var err error
		if top, err = regexp.Compile(p); err != nil {
			return []string{fmt.Sprintf("pattern %q: %v", pattern, err)}
		}
	}
	var errs []string
	for _, pkg := range pkgs {
		names, err := c.testNames(pkg)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if top == nil {
			continue
		}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) && top.MatchString(n) }) {
			errs = append(errs, fmt.Sprintf("%s %q matches no %s in %s", map[string]string{"Test": "-run", "Benchmark": "-bench"}[prefix], pattern, strings.ToLower(prefix), pkg))
		}
	}
	return errs
}

// testNames returns the names of the test, benchmark, fuzz and example
// functions of a package directory (relative to the repository's root),
// whatever their build tags.
func (c *readmeChecker) testNames(pkg string) ([]string, error) {
	if names, ok := c.tests[pkg]; ok {
		return names, nil
	}
	files, _ := filepath.Glob(filepath.Join("../..", pkg, "*_test.go"))
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no test files (no such package?)", pkg)
	}
	var names []string
	re := regexp.MustCompile(`^func ((Test|Benchmark|Fuzz|Example)\w*)\(`)
	for _, f := range files {
		file, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		for sc := bufio.NewScanner(file); sc.Scan(); {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				names = append(names, m[1])
			}
		}
		file.Close()
	}
	c.tests[pkg] = names
	return names, nil
}

// checkMake checks that the Makefile has every target of a `make` line.
func (c *readmeChecker) checkMake(line string) []string {
	var errs []string
	for _, target := range strings.Fields(line)[1:] {
		if envAssign.MatchString(target) || strings.HasPrefix(target, "-") {
			continue
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).MatchString(c.makefile) {
			errs = append(errs, fmt.Sprintf("the Makefile has no target %q", target))
		}
	}
	return errs
}
