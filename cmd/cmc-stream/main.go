// Command cmc-stream recognises sentiment live from video, audio and
// transcripts with the Calibrated Multimodal Consensus model. Run
// "cmc-stream help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cmc-stream/cmc-stream/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
