// vigil-keygen: makes a CURVE key pair for a sensor or a correlator.
//
//   vigil-keygen NAME [--out DIR]   writes DIR/NAME.key (public + secret, mode 0600) and
//                                   DIR/NAME.pub (public only: goes into correlator.yaml)
//   vigil-keygen --print            prints a pair on stdout
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include <zmq.h>

#include "vigil/core/curve_keys.h"

int main(int argc, char** argv) {
  std::string name, out_dir = ".";
  bool print = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--print") print = true;
    else if (a == "--out" && i + 1 < argc) out_dir = argv[++i];
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: vigil-keygen NAME [--out DIR] | vigil-keygen --print\n";
      return 0;
    } else if (!a.empty() && a[0] != '-' && name.empty()) name = a;
    else {
      std::cerr << "vigil-keygen: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  if (!print && name.empty()) {
    std::cerr << "usage: vigil-keygen NAME [--out DIR] | vigil-keygen --print\n";
    return 2;
  }
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    std::cerr << "vigil-keygen: " << zmq_strerror(zmq_errno()) << " (libzmq built without CURVE?)\n";
    return 1;
  }
  if (print) {
    std::cout << "public: " << pub << "\nsecret: " << sec << "\n";
    return 0;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  auto base = (std::filesystem::path(out_dir) / name).string();
  auto st = vigil::core::write_curve_key_file(base + ".key", {pub, sec}, "vigil CURVE key pair for " + name + " (keep secret)");
  if (st) st = vigil::core::write_curve_key_file(base + ".pub", {pub, ""}, "vigil CURVE public key for " + name);
  if (!st) {
    std::cerr << "vigil-keygen: " << st.error().to_string() << "\n";
    return 1;
  }
  std::cout << base << ".key\n" << base << ".pub\npublic: " << pub << "\n";
  return 0;
}
