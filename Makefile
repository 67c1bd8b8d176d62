BINARIES := server client ws-server rpc_server
GO ?= go
PORT ?= 8888
GOTESTFLAGS ?= -race -count=1 -timeout 30m

.PHONY: all build test deps vet run cluster demo bench generate check-generate fuzz-seeds fuzz clean

all: build

build: $(BINARIES)

# One rule per binary; go decides what is stale.
$(BINARIES):
	$(GO) build -o $@ ./cmd/$@

.PHONY: $(BINARIES)

deps:
	@scripts/deps.sh

vet:
	@unformatted=$$(gofmt -l cmd internal wsdl 2>/dev/null); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps build vet
	$(GO) test $(GOTESTFLAGS) ./...

run: build
	@scripts/run.sh $(PORT)

cluster: build
	@scripts/cluster.sh $(PORT)

demo: build
	@scripts/demo.sh

bench: build
	@scripts/bench.sh

generate:
	@scripts/generate.sh

# The committed SOAP client is what the WSDL generates (also part of make test).
check-generate:
	$(GO) test -count=1 -run TestGeneratedCodeIsUpToDate ./internal/datetime/

# Run every fuzz target's checked-in seeds (plain go test does this too).
fuzz-seeds:
	$(GO) test -count=1 -run '^Fuzz' ./internal/...

# Fuzz one target for a while: make fuzz FUZZ=FuzzReadRequest PKG=./internal/wire FUZZTIME=10m
# (scripts/fuzz.sh: a duration run's end-of-run coordinator race, golang/go#75804,
# is a warning there, not a failure; a written failing input always fails).
FUZZTIME ?= 10m
fuzz:
	FUZZ='$(FUZZ)' PKG='$(PKG)' FUZZTIME='$(FUZZTIME)' scripts/fuzz.sh

clean:
	rm -f $(BINARIES)

