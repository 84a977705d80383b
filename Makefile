# mcpu: top-level build.  `make` builds the nginx module and the programs;
# `make run` and `make test` first install what a fresh Debian 12 lacks.

NGINX_SRC ?= /usr/share/nginx/src
BUILD     ?= build
CC        ?= cc

CFLAGS_COMMON = -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC \
                -D_GNU_SOURCE -Ingx_mcpu_module -Icommon
RDKAFKA_CFLAGS = $(shell pkg-config --cflags rdkafka 2>/dev/null)
RDKAFKA_LIBS   = $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka)
JANSSON_LIBS   = $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

RING_SRCS   = ngx_mcpu_module/mcpu_ring.c ngx_mcpu_module/mcpu_file.c
RING_DEPS   = ngx_mcpu_module/mcpu_ring.h ngx_mcpu_module/mcpu_file.h

MODULE_SRCS = $(wildcard ngx_mcpu_module/*.c)
MODULE_DEPS = $(wildcard ngx_mcpu_module/*.h) config

SEEN_SRCS   = ngx_mcpu_module/mcpu_seen.c ngx_mcpu_module/mcpu_file.c
SEEN_DEPS   = ngx_mcpu_module/mcpu_seen.h ngx_mcpu_module/mcpu_file.h ngx_mcpu_module/mcpu_siphash.h

# what every program shares: the option engine, the log, Kafka
# configurations (common/mcpu_conf.h, mcpu_log.h, mcpu_kafka_conf.h)
COMMON_SRCS = $(wildcard common/*.c)
COMMON_DEPS = $(wildcard common/*.h)

BATCHER_SRCS = $(wildcard batcher/*.c) $(COMMON_SRCS) \
               $(sort $(RING_SRCS) $(SEEN_SRCS))
BATCHER_DEPS = $(wildcard batcher/*.h) $(COMMON_DEPS) $(RING_DEPS) \
               $(SEEN_DEPS) ngx_mcpu_module/mcpu_event.h

DEDUP_SRCS = $(wildcard dedup/*.c) $(COMMON_SRCS)
DEDUP_DEPS = $(wildcard dedup/*.h) $(COMMON_DEPS) ngx_mcpu_module/mcpu_event.h \
             ngx_mcpu_module/mcpu_siphash.h

TEST_BINS = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))

.PHONY: all module programs tests deps test run clean

all: module programs

programs: $(BUILD)/mcpu-batcher $(BUILD)/mcpu-dedup $(BUILD)/mcpu-kafka \
          $(BUILD)/mcpu-load $(BUILD)/mcpu-token $(BUILD)/mcpu-sim \
          $(BUILD)/mcpu-sink $(BUILD)/mcpu-report

# The module is built by nginx's own build system against the exact sources
# and configure flags of the nginx it will be loaded into (--with-compat).
module: $(BUILD)/ngx_http_mcpu_module.so

$(BUILD)/ngx_http_mcpu_module.so: $(MODULE_SRCS) $(MODULE_DEPS)
	NGINX_SRC="$(NGINX_SRC)" BUILD="$(BUILD)" scripts/build-module.sh

$(BUILD)/mcpu-batcher: $(BATCHER_SRCS) $(BATCHER_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) -o $@ $(BATCHER_SRCS) \
	    $(RDKAFKA_LIBS) -lpthread

# LMDB (Debian's liblmdb) holds mcpu-dedup's exact state: README "mcpu-dedup"
$(BUILD)/mcpu-dedup: $(DEDUP_SRCS) $(DEDUP_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) -Idedup -o $@ $(DEDUP_SRCS) \
	    $(RDKAFKA_LIBS) -llmdb -lm -lpthread

# mcpu-sim (sim/): the client simulator.  libcurl is its HTTP client, libjwt
# signs its tokens; librdkafka only because the option engine's --version
# prints its version.
CURL_CFLAGS = $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   = $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
SIM_SRCS = $(wildcard sim/*.c) $(COMMON_SRCS)
SIM_DEPS = $(wildcard sim/*.h) $(COMMON_DEPS)

$(BUILD)/mcpu-sim: $(SIM_SRCS) $(SIM_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) $(CURL_CFLAGS) -Isim -o $@ $(SIM_SRCS) \
	    $(CURL_LIBS) -ljwt $(JANSSON_LIBS) $(RDKAFKA_LIBS) -lm

# mcpu-sink (README "mcpu-sink"): libcurl for ClickHouse's HTTP interface,
# jansson for the records; mcpu-dedup's key from dedup/mcpu_dedup_key.c
SINK_SRCS = $(wildcard sink/mcpu_sink*.c) dedup/mcpu_dedup_key.c $(COMMON_SRCS)
SINK_DEPS = $(wildcard sink/*.h) $(COMMON_DEPS) dedup/mcpu_dedup_key.h \
            ngx_mcpu_module/mcpu_event.h ngx_mcpu_module/mcpu_siphash.h

$(BUILD)/mcpu-sink: $(SINK_SRCS) $(SINK_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) $(CURL_CFLAGS) -Idedup -Isink -o $@ $(SINK_SRCS) \
	    $(RDKAFKA_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lm -lpthread

# mcpu-report (report/): the analysis over ClickHouse and its HTML page.
# The queries of report/sql/ are built into the program with the
# assembler's .incbin (paths relative to this directory), so they are
# prerequisites; libcurl talks to ClickHouse's HTTP interface.
REPORT_SRCS  = $(wildcard report/*.c) $(COMMON_SRCS)
REPORT_DEPS  = $(wildcard report/*.h) $(wildcard report/sql/*.sql) $(COMMON_DEPS)

$(BUILD)/mcpu-report: $(REPORT_SRCS) $(REPORT_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) $(CURL_CFLAGS) -Ireport -o $@ \
	    $(REPORT_SRCS) $(RDKAFKA_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) -lm -lpthread

# bench/kafka-ceiling.sh's plain librdkafka producer (the batcher's ceiling)
$(BUILD)/bench/plain_producer: bench/plain_producer.c $(RING_SRCS) $(RING_DEPS) ngx_mcpu_module/mcpu_event.h
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) -o $@ bench/plain_producer.c $(RING_SRCS) $(RDKAFKA_LIBS)

$(BUILD)/mcpu-kafka: kafka/mcpu_kafka.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(RDKAFKA_CFLAGS) -o $@ $< $(RDKAFKA_LIBS) -lpthread

$(BUILD)/mcpu-load: tools/mcpu_load.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) -o $@ $< -lpthread

$(BUILD)/mcpu-token: tools/mcpu_token.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_COMMON) -o $@ $< -ljwt $(JANSSON_LIBS) -lcrypto

tests: $(TEST_BINS)

$(BUILD)/tests/test_dedup_key: tests/test_dedup_key.c tests/mcpu_test.h dedup/mcpu_dedup_key.c dedup/mcpu_dedup_key.h ngx_mcpu_module/mcpu_event.h ngx_mcpu_module/mcpu_siphash.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Idedup -Itests -o $@ tests/test_dedup_key.c dedup/mcpu_dedup_key.c

$(BUILD)/tests/test_dedup_state: tests/test_dedup_state.c tests/mcpu_test.h dedup/mcpu_dedup_state.c dedup/mcpu_dedup_state.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Idedup -Itests -o $@ tests/test_dedup_state.c dedup/mcpu_dedup_state.c -llmdb

$(BUILD)/tests/test_sink_row: tests/test_sink_row.c tests/mcpu_test.h sink/mcpu_sink_row.c sink/mcpu_sink_row.h dedup/mcpu_dedup_key.c dedup/mcpu_dedup_key.h ngx_mcpu_module/mcpu_event.h ngx_mcpu_module/mcpu_siphash.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Idedup -Isink -Itests -o $@ tests/test_sink_row.c sink/mcpu_sink_row.c dedup/mcpu_dedup_key.c $(JANSSON_LIBS) -lm

$(BUILD)/tests/test_ring: tests/test_ring.c tests/mcpu_test.h $(RING_SRCS) $(RING_DEPS)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Itests -o $@ tests/test_ring.c $(RING_SRCS)

$(BUILD)/tests/test_seen: tests/test_seen.c tests/mcpu_test.h $(SEEN_SRCS) $(SEEN_DEPS)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Itests -o $@ tests/test_seen.c $(SEEN_SRCS)

$(BUILD)/tests/test_bloom: tests/test_bloom.c tests/mcpu_test.h dedup/mcpu_bloom.c dedup/mcpu_bloom.h ngx_mcpu_module/mcpu_siphash.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Idedup -Itests -o $@ tests/test_bloom.c dedup/mcpu_bloom.c -lm

$(BUILD)/tests/test_event: tests/test_event.c tests/mcpu_test.h ngx_mcpu_module/mcpu_event.c ngx_mcpu_module/mcpu_event.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Itests -o $@ tests/test_event.c ngx_mcpu_module/mcpu_event.c $(JANSSON_LIBS)

$(BUILD)/tests/test_jwt: tests/test_jwt.c tests/mcpu_test.h ngx_mcpu_module/mcpu_jwt.c ngx_mcpu_module/mcpu_jwt.h ngx_mcpu_module/mcpu_event.c ngx_mcpu_module/mcpu_event.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_COMMON) -Itests -o $@ tests/test_jwt.c ngx_mcpu_module/mcpu_jwt.c ngx_mcpu_module/mcpu_event.c -ljwt $(JANSSON_LIBS) -lcrypto

# libFuzzer on mcpu_event.c.  The seeds in fuzz/corpus/event are only read;
# what a run finds goes to build/fuzz-corpus (the next run starts from it)
# and crashing inputs to build/fuzz-artifacts, both outside git.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -D_GNU_SOURCE -Ingx_mcpu_module

.PHONY: fuzz

$(BUILD)/fuzz_event: fuzz/fuzz_event.c ngx_mcpu_module/mcpu_event.c ngx_mcpu_module/mcpu_event.h
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found:" \
	    "apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@test -f "$$($(FUZZ_CC) --print-runtime-dir)/libclang_rt.fuzzer-$$(uname -m).a" \
	    || { echo "fuzz: no libFuzzer for $(FUZZ_CC):" \
	    "apt-get install libclang-rt-14-dev" >&2; exit 1; }
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_event.c ngx_mcpu_module/mcpu_event.c $(JANSSON_LIBS)

fuzz: $(BUILD)/fuzz_event
	@mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-artifacts
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)/fuzz_event -max_total_time=$(FUZZ_SECONDS) \
	    -dict=fuzz/dict/json.dict -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz-artifacts/ \
	    $(BUILD)/fuzz-corpus fuzz/corpus/event

# The unit tests and the t/ suite once more with AddressSanitizer and
# UndefinedBehaviorSanitizer (scripts/test-sanitize.sh, part of make test),
# all built into $(BUILD)/asan: the test binaries by the rules above with
# the sanitizers added, the module by scripts/build-module.sh, to be loaded
# into Debian's nginx with the ASan runtime preloaded.  clang, since its
# ASan runtime holds UBSan's too, so every report of either goes to one
# log file; the gcc build above is the one where warnings are errors.
SAN_CC      ?= clang
SAN_FLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -Wno-error -Wno-unused-parameter
SAN_LDFLAGS  = -fsanitize=address,undefined

.PHONY: asan asan-test

asan:
	@command -v $(SAN_CC) >/dev/null || { echo "asan: $(SAN_CC) not found:" \
	    "apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@$(MAKE) --no-print-directory tests BUILD=$(BUILD)/asan CC=$(SAN_CC) \
	    CFLAGS_COMMON="$(CFLAGS_COMMON) $(SAN_FLAGS)"
	@MCPU_MODULE_CFLAGS="$(SAN_FLAGS)" MCPU_MODULE_LDFLAGS="$(SAN_LDFLAGS)" \
	    $(MAKE) --no-print-directory module BUILD=$(BUILD)/asan CC=$(SAN_CC)

asan-test: asan
	BUILD="$(BUILD)" SAN_CC="$(SAN_CC)" scripts/test-sanitize.sh

deps:
	scripts/install-deps.sh

# the benchmarks side by side (bench/run.sh); writes bench/RESULTS.md
.PHONY: bench
bench: all
	BUILD="$(BUILD)" bench/run.sh


# the two commands of the README: each installs what is missing first
test: deps
	$(MAKE) all tests
	scripts/test.sh

run: deps
	$(MAKE) all
	scripts/run.sh

clean:
	rm -rf $(BUILD) t/servroot*
