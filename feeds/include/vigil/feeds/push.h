// The live push feed (DESIGN §8): a ZeroMQ PUB socket with CURVE, where only the agencies'
// listed public keys may connect (core::ZapHandler). Each new or changed item of the "agencies"
// collections (TLP:CLEAR and TLP:GREEN) goes out as two frames: the topic (the TAXII collection
// id, so a subscriber filters exactly as it polls) and a STIX 2.1 bundle holding the object.
//
// Only the "agencies" collections are pushed: a PUB socket cannot keep one subscriber from
// subscribing to another's topic, so AMBER+STRICT and RED items stay on the authenticated TAXII
// and MISP pulls, where each request is checked against its user.
//
// Like every PUB socket this drops for subscribers that are not connected or too slow (high-water
// mark): the push is a low-latency hint; TAXII with added_after is the reliable path.
//
// Threading: one internal thread owns both sockets (ZAP answers and sends). publish() may be
// called from any thread; it queues (bounded, 10,000 messages; beyond that items are dropped and
// counted) and returns.
#pragma once

#include <atomic>
#include <cstdint>
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

}  // namespace vigil::feeds
