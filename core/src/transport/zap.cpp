#include "vigil/core/zap.h"

#include <string>
#include <vector>

#include <zmq.h>

#include "vigil/core/log.h"

namespace vigil::core {

namespace {

std::vector<std::string> recv_all(void* sock) {
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&m);
      break;
    }
    frames.emplace_back(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
    bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    if (!more) break;
  }
  return frames;
}

std::string z85(const std::string& raw32) {
  char out[41] = {};
  if (raw32.size() != 32 || !zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(raw32.data()), 32)) return "?";
  return out;
}

}  // namespace

ZapHandler::~ZapHandler() {
  if (socket_) {
    int zero = 0;
    zmq_setsockopt(socket_, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(socket_);
  }
}

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
    auto f = recv_all(socket_);
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
    const std::string reply[] = {"1.0", request_id, status, text, user, ""};
    for (size_t i = 0; i < 6; ++i) {
      zmq_send(socket_, reply[i].data(), reply[i].size(), (i + 1 < 6 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    }
  }
}

}  // namespace vigil::core
