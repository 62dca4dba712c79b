// The p-quantile (0..1) of latency samples, nearest rank; 0 for no samples. Shared by the
// benchmarks that report p50/p99.
#pragma once

#include <algorithm>
#include <vector>

namespace vigil::bench {

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace vigil::bench
