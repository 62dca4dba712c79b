#include "vigil/core/zap.h"

#include <string>
#include <vector>

#include <zmq.h>

#include "vigil/core/log.h"
#include "vigil/core/zmq_frames.h"

namespace vigil::core {

namespace {

std::string z85(const std::string& raw32) {
  char out[41] = {};
  if (raw32.size() != 32 || !zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(raw32.data()), 32)) return "?";
  return out;
}

}  // namespace

ZapHandler::~ZapHandler() { close_socket(socket_); }

Result<std::unique_ptr<ZapHandler>> ZapHandler::bind(void* ctx, std::map<std::string, std::string> keys, std::string what) {
  std::unique_ptr<ZapHandler> h(new ZapHandler());
  h->keys_ = std::move(keys);
  h->what_ = std::move(what);
  h->socket_ = zmq_socket(ctx, ZMQ_REP);
  if (!h->socket_) return make_error(std::string("cannot create ZAP socket: ") + zmq_strerror(zmq_errno()));
  if (zmq_bind(h->socket_, "inproc://zeromq.zap.01") != 0) {
    return make_error(std::string("cannot bind ZAP handler: ") + zmq_strerror(zmq_errno()));
  }
  return h;
}

void ZapHandler::handle() {
  auto log = logger("zap");
  for (;;) {
    auto f = recv_frames(socket_);
    if (f.empty()) return;
    // ZAP request: version, request id, domain, address, identity, mechanism, credentials...
    std::string request_id = f.size() > 1 ? f[1] : "";
    std::string address = f.size() > 3 ? f[3] : "", mechanism = f.size() > 5 ? f[5] : "";
    std::string status = "400", text = "unknown key", user;
    if (f.size() >= 7 && mechanism == "CURVE") {
      std::string key = z85(f[6]);
      if (auto it = keys_.find(key); it != keys_.end()) {
        status = "200";
        text = "OK";
        user = it->second;
        ++accepted_;
        log->info("{} {} authenticated from {}", what_, user, address);
      } else {
        ++refused_;
        log->warn("refused unknown {} key {} from {}", what_, key, address);
      }
    } else {
      ++refused_;
      log->warn("refused {} connection from {} (CURVE required)", mechanism, address);
    }
    (void)send_frames(socket_, {"1.0", request_id, status, text, user, ""});
  }
}

}  // namespace vigil::core
