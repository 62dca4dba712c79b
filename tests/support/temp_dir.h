// A fresh directory under the system temp dir for one test, removed with everything in it when
// the test's scope ends. Shared by the unit tests of every folder.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace vigil::test_support {

struct TempDir {
  std::filesystem::path path;

  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("vigil-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `name` in the directory (atomically: a reader watching it never sees half a file) and
  // returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto p = (path / name).string();
    std::ofstream(p + ".tmp") << text;
    std::filesystem::rename(p + ".tmp", p);
    return p;
  }
};

}  // namespace vigil::test_support
