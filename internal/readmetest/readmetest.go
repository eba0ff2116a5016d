// Package readmetest reads the examples of the repository's README.md for
// the tests that check them: its fenced code blocks (the YAML and JSON
// examples, checked in internal/app) and its inline code spans (the command
// lines, checked in internal/cli).
package readmetest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Block is one fenced code block.
type Block struct {
	Lang, Text string
	Line       int // the line of its opening fence
}

// Span is one inline code span outside the code blocks, its whitespace
// (line breaks included: a span may continue on the next line of its
// paragraph) collapsed to single spaces.
type Span struct {
	Text string
	Line int // the line it starts on
	// Para counts the paragraphs (runs of lines between blank lines,
	// headings and blocks) from the top of the file: spans with the same
	// Para share one.
	Para int
	// Heading is the text of the section heading above the span.
	Heading string
}

// Doc is a parsed README.
type Doc struct {
	Blocks []Block
	Spans  []Span
}

// Read parses the Markdown file at path into its fenced code blocks and
// inline code spans. A block never closed is an error.
func Read(path string) (*Doc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		doc     Doc
		cur     *Block
		body    strings.Builder
		para    []string // the current paragraph's lines
		paraAt  int      // its first line
		paraN   int
		heading string
	)
	flush := func() {
		if len(para) > 0 {
			doc.Spans = append(doc.Spans, spans(para, paraAt, paraN, heading)...)
			paraN++
		}
		para = para[:0]
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			flush()
			cur = &Block{Lang: strings.TrimPrefix(line, "```"), Line: n}
			body.Reset()
		case cur != nil && line == "```":
			cur.Text = body.String()
			doc.Blocks = append(doc.Blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
			flush()
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
			para = append(para, line) // a heading's spans are its own paragraph
			paraAt = n
			flush()
		default:
			if len(para) == 0 {
				paraAt = n
			}
			para = append(para, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s line %d: code block never closed", path, cur.Line)
	}
	flush()
	return &doc, nil
}

// spans returns the code spans of one paragraph, whose first line is first:
// text between single backticks (the README uses no double-backtick spans).
func spans(lines []string, first, para int, heading string) []Span {
	var out []Span
	open := -1 // the line of the open span, -1 when none
	var text strings.Builder
	for i, line := range lines {
		for {
			j := strings.IndexByte(line, '`')
			if open < 0 {
				if j < 0 {
					break
				}
				open = first + i
				text.Reset()
			} else {
				if j < 0 {
					text.WriteString(line + " ")
					break
				}
				text.WriteString(line[:j])
				if t := strings.Join(strings.Fields(text.String()), " "); t != "" {
					out = append(out, Span{Text: t, Line: open, Para: para, Heading: heading})
				}
				open = -1
			}
			line = line[j+1:]
		}
	}
	return out
}
