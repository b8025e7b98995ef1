# leadscore: `make run` serves, `make test` tests. Both install what is missing first.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test lint format bench sanitize package clean

all: build

deps:
	@scripts/install_deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Serves on PORT (default 8000) with LEADSCORE_CONFIG (default config/leadscore.yaml), on
# a private PostgreSQL under var/ unless DATABASE_URL is set.
run: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) --target leadscore -j$(JOBS)
	@scripts/run.sh $(BUILD)/leadscore

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The Debian package (build/leadscore_VERSION_ARCH.deb): the server, plugins, rules, config,
# systemd units and the nginx front door. Builds only what the package holds.
package: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) --target leadscore_packaged -j$(JOBS)
	cd $(BUILD) && cpack -G DEB

# Every C and C++ file as clang-format (the project's .clang-format) writes it, and the shell
# scripts parse. `make format` rewrites the files that are not.
lint: deps
	@scripts/lint.sh

format: deps
	git ls-files '*.c' '*.cpp' '*.h' '*.hpp' | xargs clang-format -i

# Address and undefined-behaviour sanitizers over the whole test suite.
sanitize:
	$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_FLAGS="-DLEADSCORE_SANITIZE=ON -DLEADSCORE_BUILD_BENCH=OFF"

bench: deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
	cmake --build build-release -j$(JOBS)
	@echo "see bench/README.md for the commands and figures"

clean:
	rm -rf $(BUILD) build-asan build-release
