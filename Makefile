# driftcar — see README.md.
GO            ?= go
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -s -w -X github.com/driftcar/driftcar/internal/buildinfo.Version=$(VERSION)
FUZZTIME      ?= 30s
BIN           := bin/driftcar
BENCH_BIN     := bin/driftcar-bench
SOAK_DURATION ?= 10m
SOAK_WARMUP   ?= 1m
SOAK_RATE     ?= 5000
SOAK_OUT      ?= bench/results

.PHONY: all build demo test lint fmt bench bench-full bench-llm bench-grpc bench-readme bench-peers fuzz soak image clean

all: build

# The sidecar, and the benchmarks in a binary of their own.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/driftcar
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BENCH_BIN) ./cmd/driftcar-bench

demo: build
	./$(BIN) demo

test:
	$(GO) vet ./...
	$(GO) test -race -shuffle=on -count=1 -timeout 15m ./...

lint:
	$(GO) vet ./...
	$(GO) run $(GOLANGCI_LINT) run --timeout 10m ./...

fmt:
	gofmt -s -w .

# Go micro-benchmarks of every hot path, then a short load benchmark
# against the direct path and the peers that are installed (< 3 minutes),
# then the short LLM streaming benchmark (< 1 minute), then the short
# gRPC ModelInfer benchmark (< 30 seconds).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms -count 1 ./...
	./$(BENCH_BIN) proxy --short --driftcar-bin $(BIN)
	./$(BENCH_BIN) llm --short --driftcar-bin $(BIN)
	./$(BENCH_BIN) grpc --short --driftcar-bin $(BIN)

# The full sweep (about 1.5 hours on 2 cores); writes bench/results/<date>-<host>.*
bench-full: build
	./$(BENCH_BIN) proxy --driftcar-bin $(BIN)

# LLM streaming: TTFT and inter-token latency through driftcar vs direct
# and nginx (proxy_buffering off) at 1, 50 and 500 streams (~2 minutes);
# writes bench/results/<date>-<host>-llm.{md,json}.
bench-llm: build
	./$(BENCH_BIN) llm --driftcar-bin $(BIN)

# gRPC: unary ModelInfer through driftcar vs direct and nginx grpc_pass
# at 1, 32 and 256 calls in flight, and with a 200 ms shadow (~4 minutes);
# writes bench/results/<date>-<host>-grpc.{md,json}.
bench-grpc: build
	./$(BENCH_BIN) grpc --driftcar-bin $(BIN)

# Regenerate the README's performance section from the latest results.
bench-readme: build
	./$(BENCH_BIN) readme

# The wrk-based comparison with nginx (needs nginx and wrk).
bench-peers: build
	bench/peers.sh

# The soak: SOAK_DURATION at SOAK_RATE with everything on and faults
# everywhere; writes SOAK_OUT/<date>-soak.{md,json,svg} and fails on any
# pass criterion. CI runs SOAK_DURATION=60s SOAK_WARMUP=45s.
soak: build
	./$(BENCH_BIN) soak --driftcar-bin $(BIN) --duration $(SOAK_DURATION) --warmup $(SOAK_WARMUP) --rate $(SOAK_RATE) --out $(SOAK_OUT)

# Each native fuzz target in turn, FUZZTIME each; a crasher is written to
# the package's testdata/fuzz and then runs as a seed in every make test.
fuzz:
	@set -e; grep -rH --include='*_test.go' '^func Fuzz' . | sed 's|^\(.*\)/[^/]*:func \(Fuzz[A-Za-z0-9_]*\).*|\1 \2|' | sort | \
	while read -r pkg t; do \
	  echo "== $$pkg $$t ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

IMAGE ?= driftcar:$(VERSION)

# Needs a Docker engine (not available on the development machines).
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean:
	rm -rf bin
