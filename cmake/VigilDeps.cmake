# Every third-party dependency is found here, once, and exposed as an imported target.
# Only Debian bookworm packages are used (deploy/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
# MD5 (JA3), SHA-1/SHA-256 (certificate fingerprints, JA4) and X.509 parsing in sensor/src/app.
find_package(OpenSSL REQUIRED)

pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(HS REQUIRED IMPORTED_TARGET libhs)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# Debian's htp.pc lists an include folder that does not exist, which CMake rejects on an
# imported target: find libhtp by hand instead.
find_path(HTP_INCLUDE_DIR htp/htp.h REQUIRED)
find_library(HTP_LIBRARY htp REQUIRED)
add_library(vigil_htp INTERFACE)
target_include_directories(vigil_htp SYSTEM INTERFACE ${HTP_INCLUDE_DIR})
target_link_libraries(vigil_htp INTERFACE ${HTP_LIBRARY})
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)

if(VIGIL_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()

# Event transport and store (DESIGN §4, §7): wire schema, ZeroMQ with CURVE, RocksDB.
find_program(VIGIL_FLATC flatc REQUIRED)                  # the wire schema (core/src/wire/*.fbs)
find_path(FLATBUFFERS_INCLUDE_DIR flatbuffers/flatbuffers.h REQUIRED)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)    # cppzmq (zmq.hpp) is header-only on top
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(ROCKSDB REQUIRED IMPORTED_TARGET rocksdb)
find_package(CLI11 CONFIG REQUIRED)
# protobuf only for the codec benchmark that chose flatbuffers (bench/codec_bench.cpp).
find_package(Protobuf)
