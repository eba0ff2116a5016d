package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/cmc-stream/cmc-stream/internal/app"
	"github.com/cmc-stream/cmc-stream/sink/dashboard"
)

func init() {
	commands["run"] = command{
		summary: "run the live pipeline from a YAML configuration (webcam + mic, files, Kafka feeds)",
		run:     runRun,
	}
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	path := fs.String("config", "", "YAML configuration `file` (see configs/)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return fmt.Errorf("%w: --config is required", errUsage)
	}
	cfg, err := app.LoadConfig(*path)
	if err != nil {
		return err
	}
	stop, err := startNative(cfg, stderr)
	if err != nil {
		return err
	}
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	flow, err := app.Build(cfg, app.Options{
		Stdout: stdout, Dashboard: dashboard.FS(), Logger: logger,
		Listening: func(addr string) { fmt.Fprintf(stderr, "dashboard and /events on http://%s/\n", addr) },
	})
	if err != nil {
		return err
	}
	if a := flow.OpsAddr(); a != "" {
		fmt.Fprintf(stderr, "operations: http://%s/metrics, /healthz, /readyz\n", a)
	}
	err = flow.Run(ctx)
	s := flow.Summary()
	fmt.Fprintf(stderr, "%s\n", s)
	if err == nil {
		err = s.Err()
	}
	return err
}
