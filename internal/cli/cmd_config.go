package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/cmc-stream/cmc-stream/internal/app"
)

func init() {
	commands["config"] = command{
		summary: "check a run configuration: config lint FILE",
		run:     runConfig,
	}
}

func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "lint" {
		return fmt.Errorf("%w: cmc-stream config lint FILE", errUsage)
	}
	if _, err := app.LoadConfig(args[1]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[1])
	return nil
}
