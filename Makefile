# cmc-stream: common tasks. "make setup" installs what the project needs
# (scripts/setup.sh, idempotent); "make test" runs set-up when needed, then
# every test.

GO       ?= go
BIN      := bin/cmc-stream
# Packages bound to native libraries (cgo: gocv, PortAudio, ONNX Runtime).
NATIVE_RE := /ingest/(video|audio)$$|/internal/onnx$$|/features/(vision|vad|bert|asr)$$|/internal/(app|cli|extract|loadgen)$$
PURE     = $(shell $(GO) list ./... | grep -v -E '$(NATIVE_RE)')
NATIVE   = $(shell $(GO) list ./... | grep -E '$(NATIVE_RE)')
export CMC_ORT_LIB ?= $(CURDIR)/third_party/onnxruntime/libonnxruntime.so.1

.PHONY: setup tools build test test-pure test-race test-native bench fmt lint check demo demo-model demo-media clean

.setup-done: scripts/setup.sh
	bash scripts/setup.sh

setup:
	bash scripts/setup.sh

build: .setup-done
	$(GO) build -o $(BIN) ./cmd/cmc-stream

# test: formatting, vet, the pure packages without cgo and with the race
# detector, then the native packages, then every benchmark once.
test: .setup-done lint test-pure test-race test-native
	$(GO) test -short -run '^$$' -bench . -benchtime 1x ./... > /dev/null
	@echo "make test: all tests passed"

test-pure:
	CGO_ENABLED=0 $(GO) test -shuffle=on -count=1 $(PURE)

test-race:
	$(GO) test -race -count=1 $(PURE)

test-native: .setup-done
	@if [ -n "$(NATIVE)" ]; then $(GO) test -count=1 $(NATIVE); fi

# demo: the main job. Plays the bundled clip through the whole pipeline and
# serves the dashboard at http://127.0.0.1:8080/.
demo: build
	./$(BIN) demo

# demo-model rebuilds demo/model from the demo media: extract, then train
# (the settings are recorded in the bundle and in demo/model/MODEL_CARD.md).
DEMO_TRAIN_FLAGS := --convention sims --gt-labels --name cmc-demo --layers 1 --heads 4 --out-dropout 0.1 --max-epochs 60 --patience 15 --batch 16 --seed 1111
demo-model: build
	mkdir -p /tmp/cmc-demo-model
	./$(BIN) extract --media demo/media --transcripts demo/transcripts.jsonl --labels demo/labels.csv --out /tmp/cmc-demo-model/demo.pkl
	./$(BIN) train --data /tmp/cmc-demo-model/demo.pkl --out demo/model $(DEMO_TRAIN_FLAGS)
	./$(BIN) eval --model demo/model --data /tmp/cmc-demo-model/demo.pkl --split test

# demo-media regenerates demo/ (espeak-ng speech, drawn faces, UCI sentences).
demo-media:
	bash scripts/make-demo-media.sh

bench: .setup-done
	$(GO) test -run '^$$' -bench . -benchtime 2s ./model/...
	$(GO) run ./cmd/cmc-stream bench model

fmt:
	gofmt -w .

# Linters beyond vet, pinned, installed from the Go module proxy into
# bin/tools by "make tools" (scripts/setup.sh runs it).
STATICCHECK_VERSION := v0.8.2
ERRCHECK_VERSION    := v1.30.0
TOOLS := $(CURDIR)/bin/tools

tools: $(TOOLS)/staticcheck-$(STATICCHECK_VERSION) $(TOOLS)/errcheck-$(ERRCHECK_VERSION)

$(TOOLS)/staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	touch $@

$(TOOLS)/errcheck-$(ERRCHECK_VERSION):
	GOBIN=$(TOOLS) $(GO) install github.com/kisielk/errcheck@$(ERRCHECK_VERSION)
	touch $@

# lint: gofmt, go vet, staticcheck, and errcheck on the product code (not
# the tests) with the exclusions of .errcheck-excludes.
lint: tools
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	$(TOOLS)/errcheck -ignoretests -exclude .errcheck-excludes ./...

# check fails if go.mod/go.sum are not tidy or an import breaks the layering
# of docs/architecture.md.
check:
	CGO_ENABLED=0 $(GO) test -count=1 ./internal/layering
	cp go.mod /tmp/cmc-go.mod.bak; cp go.sum /tmp/cmc-go.sum.bak
	$(GO) mod tidy
	@if ! cmp -s go.mod /tmp/cmc-go.mod.bak || ! cmp -s go.sum /tmp/cmc-go.sum.bak; then \
		cp /tmp/cmc-go.mod.bak go.mod; cp /tmp/cmc-go.sum.bak go.sum; \
		echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi

clean:
	rm -rf bin .setup-done

# soak: 4 streams for 10 minutes through one pipeline (internal/loadgen/soak_test.go);
# fails if the live heap or the goroutine count grows after the warm-up.
.PHONY: soak
soak: .setup-done
	$(GO) test -count=1 -timeout 20m -run '^TestSoak$$' -v ./internal/loadgen -soak -soak.duration 10m -soak.streams 4

# fuzz: every fuzz target of the repository (found in the *_test.go files,
# so a new one is never left out: the decoders of external input, the
# aligner, the tokenizer and lexicon readers), each for FUZZTIME under an
# 8 GiB address-space limit (scripts/fuzz.sh); the bounded decoders'
# targets also fail an input that allocates past its bound
# (internal/alloctest). Their seeds run in every `go test`.
FUZZTIME ?= 30s
FUZZ_TARGETS ?= $(shell grep -r --include='*_test.go' --exclude-dir=third_party --exclude-dir=bin -o '^func Fuzz[A-Za-z0-9_]*' . \
	| sed -E 's|^(.*)/[^/]*:func (Fuzz.*)$$|\1:\2|' | sort -u)
.PHONY: fuzz
fuzz: .setup-done
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZ_TARGETS)

# stress: the live pipeline, ingest and load-generator tests, three times,
# each time with two busy loops spinning on the machine's (two) cores, so
# that timing-sensitive tests are shown to pass on a busy machine; then,
# built with -tags matprofile (gocv counts every Mat until it is closed),
# the video source tests and a 2-minute soak of 4 streams through video,
# vision and scoring, both failing on a Mat left open, the soak also on a
# drop, a lost event, or growth of heap, RSS or goroutines; last, with the
# busy loops gone, TestRunOverload (vision starved by busy processes of its
# own: every event, drops counted, none overdue). Not in `make test`.
STRESS_PACKAGES = ./internal/app/... ./ingest/... ./internal/loadgen/...
.PHONY: stress
stress: .setup-done
	@for i in 1 2 3; do \
		echo "stress run $$i of 3: two busy loops"; \
		sh -c 'while :; do :; done' & b1=$$!; \
		sh -c 'while :; do :; done' & b2=$$!; \
		$(GO) test -count=1 -timeout 60m $(STRESS_PACKAGES); rc=$$?; \
		kill $$b1 $$b2; \
		[ $$rc -eq 0 ] || exit $$rc; \
	done
	$(GO) test -count=1 -tags matprofile ./ingest/video
	$(GO) test -count=1 -timeout 10m -tags matprofile -run '^(TestSoak|TestLiveMatsCounts)$$' -v ./internal/loadgen -soak -soak.duration 2m -soak.streams 4
	$(GO) test -count=1 -timeout 10m -run '^TestRunOverload$$' -v ./internal/loadgen -overload
