// Logging setup: one named spdlog logger per component ("sensor", "rules", ...).
//
// Logs are diagnostics for operators. Alerts are data and never travel through the log; nothing is
// logged per packet at info level (counters exist for that).
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace vigil::core {

// Returns the logger for `component`, creating it (stderr, shared format) on first use.
// Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

// Sets the level of every existing and future component logger: "trace", "debug", "info",
// "warn", "error", "off". Unknown names leave the level unchanged and return false.
bool set_log_level(const std::string& level);

}  // namespace vigil::core
