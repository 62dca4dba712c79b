// The live push feed (DESIGN §8): a ZeroMQ PUB socket with CURVE, where only the agencies'
// listed public keys may connect (core::ZapHandler). Each new or changed item of the "agencies"
// collections (TLP:CLEAR and TLP:GREEN) goes out as two frames: the topic (the TAXII collection
// id, so a subscriber filters exactly as it polls) and a STIX 2.1 bundle holding the object.
//
// Only the "agencies" collections are pushed: a PUB socket cannot keep one subscriber from
// subscribing to another's topic, so AMBER+STRICT and RED items stay on the authenticated TAXII
// and MISP pulls, where each request is checked against its user.
//
// Each bundle is self-contained: besides the object it holds the objects the object refers to
// (Published::refs: its TLP 2.0 marking definition and the identity of its source), so a
// subscriber knows the marking and who reported it without a TAXII round trip.
//
// Like every PUB socket this drops for subscribers that are not connected or too slow (high-water
// mark): the push is a low-latency hint; TAXII with added_after is the reliable path.
//
// Threading: one internal thread owns both sockets (ZAP answers and sends). publish() may be
// called from any thread; it queues (bounded, 10,000 messages; beyond that items are dropped and
// counted) and returns. Refused connections are logged by the ZAP handler and counted; the
// running totals are logged each time the refused count grows.
//
// PushSubscriber is the agency's side (vigil-feeds subscribe, tests): a CURVE SUB socket.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vigil/core/result.h"
#include "vigil/feeds/service.h"

namespace vigil::feeds {

struct PushConfig {
  std::string endpoint;    // "tcp://0.0.0.0:7460", "ipc:///run/vigil/feeds.sock", port 0 allowed
  std::string public_key;  // the feed's CURVE key pair (Z85)
  std::string secret_key;
  std::map<std::string, std::string> subscribers;  // agency public key (Z85) -> user name
};

struct PushCounters {
  uint64_t published = 0;  // messages handed to the PUB socket
  uint64_t dropped = 0;    // queue full
  uint64_t skipped = 0;    // items of collections that are not pushed
  uint64_t auth_accepted = 0;
  uint64_t auth_refused = 0;
};

class PushFeed {
 public:
  ~PushFeed();
  PushFeed(const PushFeed&) = delete;
  PushFeed& operator=(const PushFeed&) = delete;

  static core::Result<std::unique_ptr<PushFeed>> bind(const PushConfig& config);

  // The bound endpoint (with the real port for tcp://...:0).
  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }
  void publish(const std::vector<Published>& items);
  [[nodiscard]] PushCounters counters() const;

  struct Impl;

 private:
  explicit PushFeed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
};

struct PushMessage {
  std::string topic;  // the collection id
  std::string body;   // a STIX 2.1 bundle (JSON text)
};

// One agency's subscription: a ZeroMQ SUB socket with CURVE (its own key pair, the feed's public
// key). Not thread-safe: use it from one thread. The server refuses an unlisted key silently (the
// handshake fails): receive() then just times out.
class PushSubscriber {
 public:
  struct Config {
    std::string endpoint;
    std::string server_public_key;  // the feed's public key (Z85)
    std::string public_key;         // this agency's key pair (Z85)
    std::string secret_key;
    std::vector<std::string> topics;  // collection ids; empty = every topic
  };
  ~PushSubscriber();
  PushSubscriber(const PushSubscriber&) = delete;
  PushSubscriber& operator=(const PushSubscriber&) = delete;

  // Errors: bad keys (not 40 Z85 characters), an endpoint ZeroMQ cannot parse.
  static core::Result<std::unique_ptr<PushSubscriber>> connect(const Config& config);
  // The next message, or nullopt when none arrived within `timeout`.
  core::Result<std::optional<PushMessage>> receive(std::chrono::milliseconds timeout);

 private:
  PushSubscriber() = default;
  void* ctx_ = nullptr;
  void* sock_ = nullptr;
};

}  // namespace vigil::feeds
