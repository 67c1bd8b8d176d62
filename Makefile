BINARIES := server client ws-server rpc_server
GO ?= go
PORT ?= 8888
GOTESTFLAGS ?= -race -count=1 -timeout 30m

.PHONY: all build test deps vet run demo bench generate check-generate fuzz-seeds clean

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

demo: build
	@scripts/demo.sh

bench: build
	@scripts/bench.sh

generate:
	@scripts/generate.sh

clean:
	rm -f $(BINARIES)

