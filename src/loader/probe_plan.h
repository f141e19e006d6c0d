// The probe plan of `goscope trace`: which runtime functions get a uprobe,
// on which instructions (after the prologue, every RET, inlined atomics),
// and what the BPF side reads at each (gs_site_config). Made from the
// symbolizer's view of one binary; pure data, no BPF, so it is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "goscope.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

// What a probe site means; echoed by BPF in gs_hook_event.hook. 0 is invalid.
enum class Hook : uint16_t {
  kNone = 0,
  kNewproc1,         // RET: RAX = the new g
  kGoexit1,          // entry, on the exiting goroutine
  kGopark,           // entry: RBX = lock, RCX = wait reason; g.waiting walked
  kReady,            // entry, on the system stack: RAX = the g made runnable
  kMakechan,         // RET: RAX = the channel
  kChansend,         // entry: RAX = c, RCX = block; RET: RAX = sent
  kChanrecv,         // entry: RAX = c, RCX = block; RET: RAX = selected, RBX = received
  kClosechan,        // entry: RAX = c
  kSelectgo,         // entry: cases; RET: RAX = chosen, RBX = recvOK
  kSemacquire,       // entry: RAX = the semaphore
  kSemrelease,       // entry: RAX = the semaphore
  kMutexLockSlow,    // entry: RAX = the mutex; RET: acquired
  kMutexUnlockSlow,  // entry: RAX = the mutex (released with waiters)
  kRWMutexLock,      // entry: RAX = rw; RET: write lock held
  kRWMutexUnlock,    // entry: RAX = rw
  kWaitGroupWait,    // entry: RAX = wg
  kNotifyListWait,   // entry: RAX = &cond.notify
  kNotifyOne,        // entry: RAX = &cond.notify
  kNotifyAll,        // entry: RAX = &cond.notify
  kStopTheWorld,     // entry (1.21+: RAX = reason)
  kStartTheWorld,    // entry
  kCasgstatus,       // entry: RAX = gp, RBX = old, RCX = new
  kInlineLock,       // after an inlined Mutex.Lock CMPXCHG: operand address, ZF = acquired
  kInlineUnlock,     // after an inlined Mutex.Unlock XADD
  kInlineRLock,      // after an inlined RWMutex.RLock XADD
  kInlineRUnlock,    // after an inlined RWMutex.RUnlock XADD
  kCount_,
};
const char* hook_name(Hook h);

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
