// CURVE key files as vigil-keygen writes them (text, Z85, 40 characters per key):
//
//   # vigil CURVE key pair for sensor-hanoi-01
//   public: rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
//   secret: JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6
//
// A ".pub" file has only the public line. No ZeroMQ here: this is just the file format.
#pragma once

#include <string>

#include "vigil/core/result.h"

namespace vigil::core {

struct CurveKeyFile {
  std::string public_key;
  std::string secret_key;  // empty for a public-only file
};

// Errors name the file. Keys must be 40 Z85 characters.
Result<CurveKeyFile> read_curve_key_file(const std::string& path);
// Writes with mode 0600 when `secret_key` is set, else 0644. Fails if the file exists.
Status write_curve_key_file(const std::string& path, const CurveKeyFile& keys, const std::string& comment);

}  // namespace vigil::core
