// detect::ProcessView on a running process: fresh goroutine snapshots read with
// process_vm_readv (snapshot_reader.h) and the reachability scan of its memory
// (reachability.h), for the judge (detect/judge.h).
#pragma once

#include <sys/types.h>

#include <memory>

#include "detect/process_view.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

class LiveProcess final : public detect::ProcessView {
 public:
  // `binary` is the process's executable and must outlive this object.
  LiveProcess(const sym::GoBinary& binary, pid_t pid) : binary_(binary), pid_(pid) {}

  bool gone() override;
  Expected<Look> look() override;
  std::unique_ptr<detect::ReachabilityOracle> reachability(const model::ProcessSnapshot& snapshot,
                                                           uint64_t load_bias) override;

 private:
  const sym::GoBinary& binary_;
  pid_t pid_;
};

}  // namespace goscope::loader
