// detect::ProcessView on a running process: fresh goroutine snapshots read with
// process_vm_readv (snapshot_reader.h) and the reachability scan of its memory
// (reachability.h), for the judge (detect/judge.h).
#pragma once

#include <sys/types.h>

#include <memory>

#include "detect/process_view.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

// The process has exited, or is a zombie (exited, not yet reaped: it still answers
// kill(0) but has no memory left).
bool process_gone(pid_t pid);

class LiveProcess final : public detect::ProcessView {
 public:
  // `binary` is the process's executable and must outlive this object.
  LiveProcess(const sym::GoBinary& binary, pid_t pid) : binary_(binary), pid_(pid) {}

  bool gone() override { return process_gone(pid_); }
  Expected<Look> look() override;
  std::unique_ptr<detect::ReachabilityOracle> reachability(const model::ProcessSnapshot& snapshot,
                                                           uint64_t load_bias) override;

 private:
  const sym::GoBinary& binary_;
  pid_t pid_;
};

}  // namespace goscope::loader
