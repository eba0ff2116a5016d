package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cmc-stream/cmc-stream/align"
	"github.com/cmc-stream/cmc-stream/event"
	"github.com/cmc-stream/cmc-stream/internal/insight"
	"github.com/cmc-stream/cmc-stream/pipeline"
	"github.com/cmc-stream/cmc-stream/sink"
)

// insightSink is the pipeline's sink of the insight tracker: it closes the
// tracker (which publishes the summaries of the streams still open), then
// the publishers only the tracker uses (the summary and alert topics, the
// webhook).
type insightSink struct {
	*insight.Tracker
	owned []interface{ Close(context.Context) error }
}

func (s *insightSink) Close(ctx context.Context) error {
	errs := []error{s.Tracker.Close(ctx)}
	for _, o := range s.owned {
		errs = append(errs, o.Close(ctx))
	}
	return errors.Join(errs...)
}

// kafkaRecords publishes summaries and alerts to their Kafka topics.
type kafkaRecords struct {
	summaries, alerts *sink.Kafka // nil: not configured
}

func (k *kafkaRecords) Publish(ctx context.Context, recs []event.Record) error {
	var sums, alerts []event.Record
	for _, r := range recs {
		switch r.(type) {
		case *event.CallSummary:
			sums = append(sums, r)
		case *event.Alert:
			alerts = append(alerts, r)
		}
	}
	var errs []error
	if k.summaries != nil && len(sums) > 0 {
		errs = append(errs, k.summaries.Publish(ctx, sums))
	}
	if k.alerts != nil && len(alerts) > 0 {
		errs = append(errs, k.alerts.Publish(ctx, alerts))
	}
	return errors.Join(errs...)
}

func (k *kafkaRecords) Close(ctx context.Context) error {
	var errs []error
	for _, w := range []*sink.Kafka{k.summaries, k.alerts} {
		if w != nil {
			errs = append(errs, w.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// maxSecretBytes bounds a webhook secret file.
const maxSecretBytes = 4096

// readSecret reads the webhook secret from the file or the environment
// variable; the errors name the source, never the secret.
func readSecret(file, env string) ([]byte, error) {
	var raw string
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok {
			return nil, fmt.Errorf("app: sinks.webhook.secret_env: environment variable %s is not set", env)
		}
		raw = v
	} else {
		st, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("app: sinks.webhook.secret_file: %w", err)
		}
		if st.Size() > maxSecretBytes {
			return nil, fmt.Errorf("app: sinks.webhook.secret_file %s: longer than %d bytes", file, maxSecretBytes)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("app: sinks.webhook.secret_file: %w", err)
		}
		raw = string(b)
	}
	return []byte(strings.TrimRight(raw, "\r\n")), nil
}

// newInsight builds the tracker and the publishers it owns; shared are the
// event sinks that also publish records (stdout, HTTP).
func newInsight(cfg *Config, shared []insight.Publisher, dl *deadLetter, log *slog.Logger) (*insightSink, error) {
	pubs := shared
	s := &insightSink{}
	if k := cfg.Sinks.Kafka; k != nil && (k.SummariesTopic != "" || k.AlertsTopic != "") {
		kr := &kafkaRecords{}
		for _, t := range []struct {
			topic string
			to    **sink.Kafka
		}{{k.SummariesTopic, &kr.summaries}, {k.AlertsTopic, &kr.alerts}} {
			if t.topic == "" {
				continue
			}
			w, err := sink.NewKafka(sink.KafkaConfig{Brokers: k.Brokers, Topic: t.topic, BatchTimeout: k.BatchTimeout, Security: k.Security})
			if err != nil {
				return nil, err
			}
			*t.to = w
		}
		pubs = append(pubs, kr)
		s.owned = append(s.owned, kr)
	}
	if w := cfg.Sinks.Webhook; w != nil {
		secret, err := readSecret(w.SecretFile, w.SecretEnv)
		if err != nil {
			return nil, err
		}
		hook, err := sink.NewWebhook(sink.WebhookConfig{URL: w.URL, Secret: secret, Timeout: w.Timeout, MaxAttempts: w.MaxAttempts,
			DeadLetter: func(ctx context.Context, r event.Record, reason error) {
				log.Warn("webhook gave up", "record", r.RecordID(), "err", reason)
				if dl != nil {
					_ = dl.Write(ctx, []*pipeline.ItemError{{Node: "webhook", Item: r, Err: reason}}) // retries until written or stopped
				}
			}})
		if err != nil {
			return nil, err
		}
		pubs = append(pubs, hook)
		s.owned = append(s.owned, hook)
	}
	var rules []insight.Rule
	for _, r := range cfg.Insight.Rules {
		rules = append(rules, insight.Rule{Name: r.Name, Speaker: r.Speaker, When: r.When})
	}
	w := cfg.Window
	grace := cmp.Or(cfg.Insight.EndGrace, cmp.Or(w.MaxWait, align.DefaultMaxWait)+w.AllowedLateness+time.Second)
	t, err := insight.New(insight.Config{Rules: rules, IdleTimeout: cfg.Insight.IdleTimeout, EndGrace: grace, Logger: log}, pubs...)
	if err != nil {
		return nil, fmt.Errorf("app: insight: %w", err)
	}
	s.Tracker = t
	return s, nil
}
