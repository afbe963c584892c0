# Every dependency comes from a Debian 12 package installed by scripts/setup.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)              # header-only parts: no COMPONENTS
find_package(OpenSSL 3 REQUIRED)
find_package(simdjson 3 REQUIRED CONFIG)
find_package(absl REQUIRED CONFIG)
find_package(CapnProto REQUIRED CONFIG)               # needs pkg-config
find_package(fmt 9 REQUIRED CONFIG)
find_package(spdlog 1.10 REQUIRED CONFIG)
find_package(tomlplusplus 3 REQUIRED CONFIG)
find_package(CLI11 2 REQUIRED CONFIG)
find_package(PkgConfig REQUIRED)
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)   # cnats' CMake config is broken on Debian
if(TICKWIRE_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
endif()
if(TICKWIRE_BUILD_BENCH)
  find_package(benchmark REQUIRED CONFIG)
  find_package(TBB REQUIRED CONFIG)
endif()
