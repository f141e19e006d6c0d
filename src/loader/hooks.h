// Every runtime hook of `goscope trace`, described once: its id, its name, the Go
// functions it probes, on which instructions, in which probe set, what BPF reads there,
// and the function that decodes its records. The probe plan (probe_plan.cpp) and the
// event decoder (event_decoder.cpp) loop over this table; neither knows a hook by name.
// Adding a hook: an enum value and a descriptor (with its decode function) in hooks.cpp,
// and bpf/ only when BPF must read something it cannot express as a gs_deref.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "goscope.h"
#include "model/event.h"
#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

// What a probe site means; echoed by BPF in gs_hook_event.hook. 0 is invalid.
// The values are the BPF ABI of one session only (never stored), but keep them stable.
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
  kGoready,          // never planned: shown by `goscope inspect` (inlined from Go 1.21 on)
  kRWMutexRLock,     // never planned: shown by `goscope inspect` (the inlined sites are used)
  kRWMutexRUnlock,   // never planned: shown by `goscope inspect`
  kCount_,
};

// Which probe set plans a hook. make_plan plans the sets in this order.
enum class HookSet : uint8_t {
  kNever,        // resolved for `goscope inspect` only
  kDefault,      // cost follows blocking: park/ready, slow paths, creation/exit, make/close, STW
  kAllOps,       // + every channel operation and select, every lock acquisition/release
  kScheduler,    // + every goroutine state change (very hot; `inspect` calls it opt-in)
  kLockHolders,  // + inlined Mutex/RWMutex fast paths (implied by kAllOps)
};

// Which instructions of the hook's functions are probed (a bit set).
enum HookSites : uint8_t {
  kAtEntry = 1 << 0,   // after the stack-check prologue
  kAtReturn = 1 << 1,  // every RET
  kAtAtomic = 1 << 2,  // after the LOCK CMPXCHG / XADD of the functions, inlined or not
};

// The fields BPF reads at a hook's sites, from the binary's offsets (present or not).
struct HookReads {
  std::vector<gs_deref> entry;  // also the atomic site's
  std::vector<gs_deref> ret;
};

class DecodeContext;  // event_decoder.h

struct HookDescriptor {
  Hook hook = Hook::kNone;
  const char* name = "";                   // `trace --list-probes`, `inspect`: stable
  std::vector<std::string_view> functions;  // Go functions, newest name first (first present wins);
                                            // atomic hooks: every function whose atomic it watches
  uint8_t sites = 0;                        // HookSites
  HookSet set = HookSet::kNever;
  uint8_t flags = 0;  // GS_SITE_* of the entry (or atomic) site; RET sites have none
  HookReads (*reads)(const sym::GoOffsets&) = nullptr;  // nullptr: no field
  sym::AtomicKind atomic = sym::AtomicKind::kLockCmpxchg;  // kAtAtomic: the instruction watched
  // Turns one record of this hook into 0 or 1 event (nullptr: never planned).
  void (*decode)(DecodeContext& ctx, model::Event& e) = nullptr;

  // An entry and a RET are paired into one event (the RET reports the entry's stack).
  bool paired() const { return (sites & kAtEntry) && (sites & kAtReturn); }
};

// Every hook, in `goscope inspect`'s order; one descriptor per Hook but kNone / kCount_.
std::span<const HookDescriptor> hook_table();
// The descriptor of `h`; nullptr for kNone, kCount_ or a value out of range.
const HookDescriptor* hook_descriptor(Hook h);
const char* hook_name(Hook h);

}  // namespace goscope::loader
