// The probe plan of `goscope trace`: which runtime functions get a uprobe,
// on which instructions (after the prologue, every RET, inlined atomics),
// and what the BPF side reads at each (gs_site_config), for the hooks of hooks.h. Made
// from the symbolizer's view of one binary; pure data, no BPF, so it is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "goscope.h"
#include "loader/hooks.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

enum class ProbeSet {
  kDefault,  // cost follows blocking: park/ready, slow paths, creation/exit, make/close, STW
  kAllOps,   // + every channel operation and select, every lock acquisition/release
};

struct PlanOptions {
  ProbeSet set = ProbeSet::kDefault;
  bool scheduler = false;     // + casgstatus: every goroutine state change (very hot)
  bool lock_holders = false;  // + inlined Mutex/RWMutex fast paths (implied by kAllOps)
};

struct PlannedSite {
  Hook hook = Hook::kNone;
  uint8_t site = GS_SITE_ENTRY;  // enum gs_site_kind
  uint32_t slot = 0;             // index into Plan::configs
  uint64_t vaddr = 0;            // ELF virtual address of the probed instruction
  uint64_t file_offset = 0;      // what the uprobe attaches by
  uint64_t cookie = 0;           // GS_COOKIE(slot, reg, disp, index in Plan::sites)
  std::string function;          // where it is (for messages)
  bool rwmutex_writer = false;   // an atomic site of the writers' mutex inside RWMutex.Lock / Unlock
};

struct Plan {
  std::vector<PlannedSite> sites;
  std::vector<gs_site_config> configs;  // by slot
  gs_go_offsets offsets{};
  std::vector<std::string> absent;   // hooks the binary does not have (never used by the program)
  std::vector<std::string> skipped;  // sites that could not be planned, with why
  size_t count(Hook h) const;
};

// Plans the probes for `binary`. Errors: offsets goscope cannot do without (goid, m,
// curg, sched), or none of the hooks of the set present.
Expected<Plan> make_plan(const sym::GoBinary& binary, const PlanOptions& options, uint32_t stack_depth);

}  // namespace goscope::loader
