package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cmc-stream/cmc-stream/event"
)

func init() {
	commands["schema"] = command{
		summary: "print the JSON Schema of a record type: schema [NAME] (no NAME: list the names)",
		run:     runSchema,
	}
}

// runSchema prints the JSON Schema file of the named record type, or the
// names of all record types, one a line.
func runSchema(_ context.Context, args []string, stdout, _ io.Writer) error {
	switch len(args) {
	case 0:
		_, err := fmt.Fprintln(stdout, strings.Join(event.SchemaNames(), "\n"))
		return err
	case 1:
		doc, err := event.JSONSchema(args[0])
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		_, err = stdout.Write(doc)
		return err
	}
	return fmt.Errorf("%w: cmc-stream schema [NAME]", errUsage)
}
