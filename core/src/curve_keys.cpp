#include "vigil/core/curve_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

namespace vigil::core {

namespace {
bool is_z85(const std::string& k) {
  static const std::string kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  return k.size() == 40 && k.find_first_not_of(kAlphabet) == std::string::npos;
}
}  // namespace

Result<CurveKeyFile> read_curve_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot open key file", path);
  CurveKeyFile k;
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t\""));
    while (!value.empty() && (value.back() == ' ' || value.back() == '"' || value.back() == '\r')) value.pop_back();
    if (key == "public") k.public_key = value;
    else if (key == "secret") k.secret_key = value;
  }
  if (!is_z85(k.public_key)) return make_error("no 40-character Z85 'public:' key", path);
  if (!k.secret_key.empty() && !is_z85(k.secret_key)) return make_error("'secret:' is not a 40-character Z85 key", path);
  return k;
}

Status write_curve_key_file(const std::string& path, const CurveKeyFile& keys, const std::string& comment) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, keys.secret_key.empty() ? 0644 : 0600);
  if (fd < 0) return make_error("cannot create key file (does it exist already?)", path);
  std::string text = "# " + comment + "\npublic: " + keys.public_key + "\n";
  if (!keys.secret_key.empty()) text += "secret: " + keys.secret_key + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = (::fsync(fd) == 0) && ok;
  ::close(fd);
  if (!ok) return make_error("cannot write key file", path);
  return {};
}

}  // namespace vigil::core
