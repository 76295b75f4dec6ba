# fmsgo — run `make help` for the targets.
GO        ?= go
BIN       := bin
PKGS      := ./...
FUZZTIME  ?= 60s
OUT       ?= $(BIN)/origin

.PHONY: help build build-plugins run test bench flood fuzz vet clean

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## build: build bin/origin and bin/edge
build:
	$(GO) build -o $(BIN)/origin ./origin/cmd/origin
	$(GO) build -o $(BIN)/edge ./edge/cmd/edge

## build-plugins: build OUT (default bin/origin) with plug-in modules: make build-plugins WITH="MODULE[@VERSION][=LOCALPATH] ..." (docs/plugins.md)
build-plugins:
	@test -n "$(WITH)" || { echo 'usage: make build-plugins WITH="MODULE[@VERSION][=LOCALPATH] ..." [OUT=bin/origin]' >&2; exit 2; }
	$(GO) run ./origin/cmd/fmsgo-build $(addprefix --with ,$(WITH)) -o $(OUT)

## run: build, then start an origin and an edge on this machine (publish to rtmp://127.0.0.1:1935/live/test)
run: build
	@./samples/run-local.sh

## test: the whole suite, with the race detector (what CI runs)
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 600s $(PKGS)

## bench: Go benchmarks with allocations, then the loopback load runs
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) run ./samples/bench
	$(GO) run ./samples/flood

## flood: the abuse run alone: one address floods an origin while another connects and calls
flood:
	$(GO) run ./samples/flood

## fuzz: run every fuzz target for FUZZTIME each (default 60s)
fuzz:
	@./samples/fuzz-all.sh $(FUZZTIME)

## vet: go vet
vet:
	$(GO) vet $(PKGS)

## clean: remove build output
clean:
	rm -rf $(BIN)
