// Turns gs_hook_event records from the ring buffer into typed model::Events.
// Pure user-space logic (no BPF), unit-tested with synthetic records:
//  - removes the PIE load bias (probe ip minus the planned site address);
//  - pairs entry and RET records of one goroutine into one event (a send
//    with its outcome and when it began, a contended lock with its wait);
//  - names the object behind a semaphore or a park from the stack and the
//    struct offsets (a Mutex, an RWMutex's reader side, a WaitGroup, ...).
// What each hook's records mean is its decode function in hooks.cpp; this file does
// the common part (checks, bias, stacks) and dispatches.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loader/probe_plan.h"
#include "model/event.h"
#include "symbolizer/symbolizer.h"
#include "symbolizer/sync_objects.h"

namespace goscope::loader {

struct DecoderStats {
  uint64_t records = 0;
  uint64_t events = 0;
  uint64_t malformed = 0;    // records too short or naming no planned site
  uint64_t unpaired = 0;     // a RET whose entry was not seen (probes attached mid-call), or the reverse
  uint64_t data_faults = 0;  // records where BPF could not read a field
};

struct Pending {
  int64_t time_ns = 0;
  uint64_t object = 0;
  model::ObjectKind kind = model::ObjectKind::kNone;
  uint16_t flags = 0;
  model::StackId stack = 0;
  std::vector<model::ObjectRef> objects;
};

// What a hook's decode function (hooks.cpp) sees: the record being decoded, and the
// decoder's state across records (entries waiting for their RET, per goroutine and hook;
// what a goroutine announced it will sleep on). A context rather than private members of
// EventDecoder so that the descriptor table names the decode functions without friendship,
// and they see exactly this, not the decoder's ring-buffer side.
class DecodeContext {
 public:
  DecodeContext(const sym::GoBinary& binary, const Plan& plan, model::StackTable& stacks, DecoderStats& stats);

  // The record being decoded.
  const gs_hook_event& record() const { return *record_; }
  const PlannedSite& site() const { return *site_; }
  bool ret() const { return site_->site == GS_SITE_RET; }
  uint64_t reg(unsigned i) const { return record_->regs[i]; }  // RAX RBX RCX RDI RSI R8
  uint64_t word(unsigned i) const { return i < record_->ndata ? record_->words[i] : 0; }
  unsigned ndata() const { return record_->ndata; }
  uint64_t bias() const { return bias_; }

  const Plan& plan() const { return plan_; }
  const sym::GoOffsets& offsets() const { return offsets_; }
  bool has_stw_reason() const { return has_stw_reason_; }
  std::string_view wait_reason(uint32_t r) const {
    return r < wait_reasons_.size() ? std::string_view(wait_reasons_[r]) : std::string_view();
  }

  void emit(model::Event&& e);
  // The entry half of a paired operation, until the same goroutine's RET takes it.
  void pend(uint64_t goid, Pending p);
  bool take(uint64_t goid, Pending& out);
  // A goroutine exited: what it entered never returns.
  void forget(uint64_t goid);

  // The sync object a semaphore belongs to, from the stack that touched it.
  model::ObjectRef sync_object(uint64_t semaphore, model::StackId stack);
  bool stack_has(model::StackId stack, std::string_view function);

  // What a goroutine announced it is about to sleep on (semacquire1 / notifyListWait entry),
  // and the announcing function: the announcement names the next park only when that park
  // happens inside it (the fast path often returns without parking).
  struct Announced {
    model::ObjectRef object;
    std::string_view function;
  };
  std::unordered_map<uint64_t, Announced> sync_wait;  // goid -> what its next park may wait on
  std::unordered_map<uint64_t, uint64_t> inline_unlock;  // goid -> mutex it just released at an atomic site

 private:
  friend class EventDecoder;
  using PendingByGoid = std::unordered_map<uint64_t, Pending>;
  const std::vector<std::string>& functions_of(model::StackId stack);

  const sym::GoBinary& bin_;
  const Plan& plan_;
  const sym::GoOffsets& offsets_;
  model::StackTable& stacks_;
  DecoderStats& stats_;
  bool has_stw_reason_ = false;
  std::vector<std::string> wait_reasons_;
  uint64_t bias_ = 0;
  const gs_hook_event* record_ = nullptr;
  const PlannedSite* site_ = nullptr;
  const model::EventSink* sink_ = nullptr;
  std::vector<PendingByGoid> pending_;  // by Hook
  std::unordered_map<model::StackId, std::vector<std::string>> functions_;
};

class EventDecoder {
 public:
  EventDecoder(const sym::GoBinary& binary, const Plan& plan, model::StackTable& stacks);

  // Decodes one ring-buffer record; calls `sink` for each event it completes (0 or 1).
  void decode(std::span<const uint8_t> record, const model::EventSink& sink);

  const DecoderStats& stats() const { return stats_; }
  // The load bias seen in the records (0 before the first one, or for a non-PIE binary).
  uint64_t load_bias() const { return ctx_.bias_; }
  // The bias when it is known otherwise (/proc/PID/maps): CPU samples carry no site to learn it from.
  void set_load_bias(uint64_t bias) { ctx_.bias_ = bias; }
  // CPU time one CPU sample stands for (their value); 0: the event's own period.
  void set_sample_period_ns(int64_t ns) { sample_period_ns_ = ns; }

 private:
  void decode_sample(std::span<const uint8_t> record, const model::EventSink& sink);

  const sym::GoBinary& bin_;
  const Plan& plan_;
  model::StackTable& stacks_;
  DecoderStats stats_;
  DecodeContext ctx_;
  int64_t sample_period_ns_ = 0;
};

}  // namespace goscope::loader
