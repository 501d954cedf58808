# sdproxy — run `make help` for the targets.
GO      ?= go
BIN     ?= bin/sdproxy
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the sdproxy binary into bin/
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/sdproxy

.PHONY: demo
demo: ## Run a throw-away sdproxy with a demo upstream, project and key; prints curl commands
	$(GO) run -ldflags "-X main.version=$(VERSION)" ./cmd/sdproxy demo

.PHONY: run
run: ## Run sdproxy serve on its defaults (data in ./sdproxy-data)
	$(GO) run -ldflags "-X main.version=$(VERSION)" ./cmd/sdproxy serve

.PHONY: test
test: ## Run every test with the race detector, then the allocation tests without it
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'Allocs' ./fieldcrypt ./keystore ./proxy ./events ./internal/bodycodec

.PHONY: faults
faults: ## Run the fault suite on the real binary, figures in docs/reliability.md (root: tmpfs; etcd-server)
	@rc=0; \
	$(GO) test -tags faults -count=1 -timeout 20m -v ./internal/faults || rc=1; \
	$(GO) test -count=1 -timeout 10m -v -run 'TestE2ECluster$$' ./cmd/sdproxy || rc=1; \
	$(GO) test -count=1 -timeout 5m -v -run 'TestEtcdClusterLosesMemberThenQuorum$$' ./keystore || rc=1; \
	exit $$rc

.PHONY: bench
bench: ## Run the benchmarks (5 runs each, for benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./...

.PHONY: loadtest
loadtest: ## Load-test sdproxy against a bare forwarder and nginx with wrk (ROUNDS=3 SECS=10 CONNS=64 WORK=5us; PROFILE=1: where the CPU goes)
	GO=$(GO) tools/loadtest/loadtest.sh

.PHONY: image
image: ## Build the container image sdproxy:$(VERSION) and :latest (static binary into a scratch image; pulls nothing)
	GO=$(GO) VERSION=$(VERSION) deploy/build-image.sh

.PHONY: compose-test
compose-test: ## Build the images, bring up deploy/compose (3 etcd, 2 sdproxy), try writes, reads and faults, tear it all down
	GO=$(GO) VERSION=$(VERSION) deploy/compose/compose-test.sh

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: ## Remove build output (not ./sdproxy-data)
	rm -rf bin
