#include "loader/live_process.h"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "loader/reachability.h"
#include "loader/snapshot_reader.h"

namespace goscope::loader {

bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // The state follows the command name, which may itself hold parentheses.
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
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
