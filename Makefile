# barrage: build, test, fuzz, bench, demo.  `make help` lists the targets.
CC       ?= cc
PKGS     := liburing openssl libfyaml jansson zlib
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
BASEFLAGS = -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-missing-field-initializers -pthread -MMD -MP \
            -Iengine -Ishapes -Itls $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm
ifneq ($(WERROR),)
BASEFLAGS += -Werror
endif
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

B        := build
LIB_SRC  := $(filter-out engine/main.c,$(wildcard engine/*.c shapes/*.c tls/*.c))
# The --html report's page assets, embedded at build time (see engine/report_html_assets.h).
DYGRAPHS ?= /usr/share/javascript/dygraphs
HTML_ASSETS := html_dygraph_js=$(DYGRAPHS)/dygraph.min.js html_dygraph_css=$(DYGRAPHS)/dygraph.min.css \
               html_page_js=engine/report_html.js html_page_css=engine/report_html.css
GEN_SRC  := $(B)/gen/html_assets.c
GEN_OBJ  := $(B)/gen/html_assets.o
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o) $(GEN_OBJ)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/%)
ASAN_OBJ := $(LIB_SRC:%.c=$(B)/asan-obj/%.o) $(GEN_OBJ)

.PHONY: all test unit fuzz fuzzers bench demo deps clean help
.SECONDARY:
all: $(B)/barrage

help:
	@echo "make            build build/barrage"
	@echo "make demo       install what is missing, build, load-test the built-in target"
	@echo "make test       unit tests (plain and ASan+UBSan), fuzzing, integration tests"
	@echo "make fuzz       run the response-parser fuzzer (FUZZ_SECONDS=30)"
	@echo "make bench      compare against wrk and h2load on nginx (see bench/README.md)"

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

$(B)/asan-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -c $< -o $@

# (a missing asset is left to embed.sh, which says what to install)
$(GEN_SRC): scripts/embed.sh $(wildcard $(foreach a,$(HTML_ASSETS),$(lastword $(subst =, ,$(a)))))
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ $(HTML_ASSETS)

# data only: the plain object serves the ASan builds too
$(GEN_OBJ): $(GEN_SRC)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

$(B)/barrage: $(B)/engine/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -pthread -o $@ $(filter %.o,$^) $(LDLIBS)

$(B)/unit/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Itests/unit -o $@ $(filter %.c %.o,$^) $(LDLIBS)

$(B)/asan/%: tests/unit/%.c $(ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -Itests/unit -o $@ $(filter %.c %.o,$^) $(LDLIBS)

unit: $(UNIT_BIN) $(ASAN_BIN)

FUZZ_SECONDS ?= 30
# One libFuzzer binary per tests/fuzz/fuzz_NAME.c, linked with the sources in FUZZ_LIB_NAME;
# its seeds are in tests/fuzz/seeds/NAME/.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIB_fuzz_http_parse := engine/http_parse.c
FUZZ_LIB_fuzz_shape_parse := shapes/shape.c shapes/shape_parse.c
FUZZ_LIB_fuzz_slo_parse := shapes/slo.c shapes/shape.c shapes/shape_parse.c
FUZZ_LIB_fuzz_feeder_parse := engine/feeder.c
FUZZ_LIB_fuzz_hdrlog_read := engine/hdrlog_read.c engine/hdrlog.c engine/hist.c engine/base64.c
FUZZ_LIB_fuzz_regex := engine/regex_vm.c
FUZZ_LIB_fuzz_rx_time := engine/rx_time.c
FUZZ_LIB_fuzz_serve_request := engine/serve_request.c
FUZZ_LIB_fuzz_serve_chunked := engine/serve_request.c
FUZZ_LIB_fuzz_cookie_jar := engine/cookie_jar.c
FUZZ_LIB_fuzz_secrets := engine/secrets.c
FUZZ_LIB_fuzz_json_valid := engine/json_valid.c
# The viewer and the captures and checks, compared with the worker's framing (http_parse).
FUZZ_LIB_fuzz_extract := engine/extract.c engine/cookie_jar.c engine/regex_vm.c engine/template.c engine/json_valid.c engine/secrets.c engine/http_parse.c
# The scenario loader reaches into most of the engine (durations, URLs, templates, captures).
FUZZ_LIB_fuzz_scenario_load := $(LIB_SRC) $(GEN_SRC)
# cli.c and plan.c (url_parse, the flags' values) link against most of the engine too.
FUZZ_LIB_fuzz_cli_values := $(LIB_SRC) $(GEN_SRC)
.SECONDEXPANSION:
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_LIB_fuzz_$$*) tests/fuzz/fuzz_pieces.h
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iengine -Ishapes -Itls $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
	    -fsanitize=fuzzer,address,undefined -o $@ $(filter %.c,$^) $(LDLIBS)

fuzzers: $(FUZZ_BIN)

fuzz:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory fuzzers
	@for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; mkdir -p $(B)/fuzz/corpus/$$n; \
	    echo "== $$f"; $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    $(B)/fuzz/corpus/$$n tests/fuzz/seeds/$$n || exit 1; done

# Installs what the tests need first (clang for the fuzzer, nginx, python3), so that
# `make test` works on a fresh machine as the README says.
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory $(B)/barrage $(B)/floor unit fuzzers
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh

# The floor client bench/run.sh can run beside barrage (TOOLS=... floor): see bench/floor.c.
$(B)/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $< $(LDLIBS)

bench: $(B)/barrage $(B)/floor
	bench/run.sh

deps:
	scripts/deps.sh

demo:
	scripts/demo.sh

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
