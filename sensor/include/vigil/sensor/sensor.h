// The sensor: capture → decode → flow/stream → app layer → detect → EVE, on N worker threads.
//
// One reader thread reads and decodes packets (IP defragmentation needs every fragment in one
// place) and hands each packet to a worker chosen by a symmetric flow hash, so a flow always
// lands on the same worker and every worker owns its flows, streams and Hyperscan scratch
// without locks. With one worker everything runs on the calling thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "vigil/core/result.h"
#include "vigil/sensor/config.h"
#include "vigil/sensor/eve.h"

namespace vigil::sensor {

struct SensorOptions {
  SensorConfig config;
  std::string read_file;   // -r: pcap or pcapng file
  std::string interface;   // -i: live interface
  std::string bpf;         // BPF filter expression
  std::string log_dir = ".";
  std::vector<std::string> rule_files;  // -S/-s, after config rule-files resolution
};

class Sensor {
 public:
  // Loads and compiles the rules (rejected rules are logged with file, line, sid and reason),
  // opens the capture and the outputs. Fails with a message naming the file at fault.
  static core::Result<std::unique_ptr<Sensor>> create(SensorOptions opts);
  ~Sensor();

  // Processes packets until the capture ends or stop() is called; then flushes every flow and
  // writes the final stats record.
  core::Status run();

  // Request to stop reading, safe from a signal handler: also wakes a live capture blocked
  // waiting for packets (pcap_breakloop).
  void stop();

  // The final stats (also written to eve.json as event_type "stats").
  [[nodiscard]] const Json& final_stats() const { return final_stats_; }

 private:
  Sensor() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  Json final_stats_;
};

}  // namespace vigil::sensor
