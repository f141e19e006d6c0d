#include "loader/live_process.h"

#include <string>

#include "loader/process_info.h"
#include "loader/reachability.h"
#include "loader/snapshot_reader.h"

namespace goscope::loader {

bool LiveProcess::gone() {
  return loader::gone(pid_);
}

Expected<detect::ProcessView::Look> LiveProcess::look() {
  GS_TRY(auto process, sym::ProcessImage::open(pid_));
  ProcessMemory memory(pid_);
  GS_TRY(auto snapshot, read_snapshot(binary_, process, memory));
  Look look;
  look.snapshot = std::move(snapshot);
  look.load_bias = process.load_bias();
  return look;
}

std::unique_ptr<detect::ReachabilityOracle> LiveProcess::reachability(const model::ProcessSnapshot& snapshot,
                                                                      uint64_t load_bias) {
  return std::make_unique<ProcessReachability>(binary_, load_bias, snapshot, pid_);
}

}  // namespace goscope::loader
