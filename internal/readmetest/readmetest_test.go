package readmetest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, md string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRead parses a small file whose blocks and spans are written out by
// hand below: a span continued on the next line, spans in a heading, a
// backtick inside a block that opens no span, paragraphs split by a blank
// line, a heading and a block.
func TestRead(t *testing.T) {
	md := "# Title `a`\n" +
		"Run `x --flag\n" +
		"value` and `y`.\n" +
		"\n" +
		"Next `z`\n" +
		"```sh\n" +
		"make `q`\n" +
		"```\n" +
		"After `w`.\n"
	doc, err := Read(write(t, md))
	if err != nil {
		t.Fatal(err)
	}
	wantBlocks := []Block{{Lang: "sh", Text: "make `q`\n", Line: 6}}
	if !reflect.DeepEqual(doc.Blocks, wantBlocks) {
		t.Errorf("blocks %+v, want %+v", doc.Blocks, wantBlocks)
	}
	wantSpans := []Span{
		{Text: "a", Line: 1, Para: 0, Heading: "Title `a`"},
		{Text: "x --flag value", Line: 2, Para: 1, Heading: "Title `a`"},
		{Text: "y", Line: 3, Para: 1, Heading: "Title `a`"},
		{Text: "z", Line: 5, Para: 2, Heading: "Title `a`"},
		{Text: "w", Line: 9, Para: 3, Heading: "Title `a`"},
	}
	if !reflect.DeepEqual(doc.Spans, wantSpans) {
		t.Errorf("spans\n got %+v\nwant %+v", doc.Spans, wantSpans)
	}
}

func TestReadUnclosedBlock(t *testing.T) {
	_, err := Read(write(t, "text\n```yaml\na: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2: code block never closed") {
		t.Errorf("got %v, want the unclosed block's line", err)
	}
}
