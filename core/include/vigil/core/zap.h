// A ZeroMQ ZAP handler (RFC 27) that admits CURVE clients whose public key is listed, mapping the
// key to a user id (ZAP User-Id, readable on each message as the "User-Id" property). Anything
// else — an unknown key, NULL or PLAIN — is refused, counted and logged. Shared by every CURVE
// server socket in Vigil (the correlator's ingest ROUTER, the feeds' push PUB).
//
// No ZeroMQ types here: the context and socket are void* as libzmq hands them out. Threading: the
// handler's socket belongs to the thread that polls it; bind() and handle() run on that thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "vigil/core/result.h"

namespace vigil::core {

class ZapHandler {
 public:
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds inproc://zeromq.zap.01 in `zmq_context`: one handler per context, bound before any
  // CURVE server socket of that context accepts a connection. `keys`: Z85 public key -> user id.
  // `what` names the peers in logs ("sensor", "agency").
  static Result<std::unique_ptr<ZapHandler>> bind(void* zmq_context, std::map<std::string, std::string> keys,
                                                  std::string what);

  // The REP socket to poll for ZMQ_POLLIN.
  [[nodiscard]] void* socket() const { return socket_; }
  // Answers every waiting request (non-blocking).
  void handle();
  // Replaces the key list (reload); later handshakes use it.
  void set_keys(std::map<std::string, std::string> keys) { keys_ = std::move(keys); }

  [[nodiscard]] uint64_t accepted() const { return accepted_; }
  [[nodiscard]] uint64_t refused() const { return refused_; }

 private:
  ZapHandler() = default;
  void* socket_ = nullptr;
  std::map<std::string, std::string> keys_;
  std::string what_;
  uint64_t accepted_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace vigil::core
