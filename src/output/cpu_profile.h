// The CPU profile: periodic samples of the traced process (model::EventKind::
// kCpuSample, one per sampling tick that found one of its threads on a CPU),
// written the way runtime/pprof writes a CPU profile, so `go tool pprof` reads
// it as if the program had profiled itself:
//   sample types  samples/count, cpu/nanoseconds   (period type cpu/nanoseconds,
//                 period = the sampling period; the default sample type is cpu)
//   labels        goid (the goroutine that was running; "0" for the runtime's
//                 own work on a thread with no goroutine: scheduler, idle GC),
//                 and "in_kernel"="true" when the tick interrupted a system call
//                 (the stack then ends at the syscall instruction)
//   stacks        leaf first; frame 0 is the sampled instruction, the others are
//                 return addresses (looked up at pc - 1), inlined frames kept
// and as folded stacks ("main.main;main.work;main.burn 42", counts of samples)
// for flame graphs.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/expected.h"
#include "model/event.h"
#include "output/pprof.h"
#include "output/profiles.h"

namespace goscope::output {

class CpuProfile {
 public:
  // `ctx.symbols` must outlive this object; `stacks` is the stream's table.
  CpuProfile(const ProfileContext& ctx, const model::StackTable& stacks);

  // Takes kCpuSample events; ignores every other kind.
  void on_event(const model::Event& e);

  uint64_t samples() const { return samples_; }
  int64_t cpu_ns() const { return cpu_ns_; }
  // The event the samples were taken on and the nominal period (ns per sample);
  // "cpu-clock" and the period of the first sample unless set.
  void set_sampling(const std::string& event, int64_t period_ns);

  // The profile so far (`end_ns` closes its duration; 0: ctx.end_ns or the last sample).
  std::vector<Sample> samples_list() const;
  Expected<void> write_pprof(const std::string& path, int64_t end_ns = 0) const;
  Expected<std::string> folded() const;  // counts of samples per stack
  Expected<void> write_folded(const std::string& path) const;

  // Per goroutine: how many samples hit it and its hottest leaf function
  // (symbolized, inlined callee first), for goscope stat's "current function".
  struct GoroutineSamples {
    uint64_t samples = 0;
    std::string last_function;  // the leaf function of its latest sample
  };
  const std::map<uint64_t, GoroutineSamples>& by_goroutine() const { return by_goid_; }

 private:
  // Samples are merged per (goroutine, stack, in the kernel): the labels a sample carries.
  struct Key {
    uint64_t goid = 0;
    model::StackId stack = 0;
    bool in_kernel = false;
    auto operator<=>(const Key&) const = default;
  };
  struct Totals {
    uint64_t samples = 0;
    int64_t cpu_ns = 0;
  };

  std::vector<Location> stack_of(model::StackId stack) const;

  ProfileContext ctx_;
  const model::StackTable& stacks_;
  std::map<Key, Totals> counts_;
  std::map<uint64_t, GoroutineSamples> by_goid_;
  std::map<uint64_t, int64_t> latest_ns_;  // goid -> time of the sample its last_function is from
  std::string event_ = "cpu-clock";
  int64_t period_ns_ = 0;
  bool period_set_ = false;  // by set_sampling(), not taken from the first sample
  int64_t first_ns_ = 0, last_ns_ = 0;
  uint64_t samples_ = 0;
  int64_t cpu_ns_ = 0;
};

}  // namespace goscope::output
