#include "output/cpu_profile.h"

#include <algorithm>
#include <utility>

#include "output/display.h"
#include "output/folded.h"

namespace goscope::output {

namespace {

// runtime/pprof's CPU profile: a sample counts ticks and the CPU time they stand for.
const ValueType kSamplesCount{"samples", "count"};
const ValueType kCpuNanoseconds{"cpu", "nanoseconds"};

// A tick with no user stack (the unwinder found nothing) still used the CPU: it
// gets one location, so that totals, flame graphs and `pprof -traces` all show it.
Location unknown_location() {
  return Location{0, {Line{"[unknown]", "", "", 0}}};
}

}  // namespace

CpuProfile::CpuProfile(const ProfileContext& ctx, const model::StackTable& stacks)
    : ctx_(ctx), stacks_(stacks) {}

void CpuProfile::set_sampling(const std::string& event, int64_t period_ns) {
  event_ = event;
  period_ns_ = period_ns;
  period_set_ = true;
}

void CpuProfile::on_event(const model::Event& e) {
  if (e.kind != model::EventKind::kCpuSample) return;
  if (!period_set_ && period_ns_ == 0) period_ns_ = e.value;
  // A sample without its own value stands for the nominal period.
  const int64_t cpu = e.value > 0 ? e.value : period_ns_;
  Totals& t = counts_[{e.goid, e.stack, (e.flags & model::kInKernel) != 0}];
  t.samples++;
  t.cpu_ns += cpu;
  samples_++;
  cpu_ns_ += cpu;
  if (samples_ == 1 || e.time_ns < first_ns_) first_ns_ = e.time_ns;
  last_ns_ = std::max(last_ns_, e.time_ns);

  // goid 0 is no goroutine (the runtime's work on a thread without one).
  if (e.goid == 0) return;
  GoroutineSamples& g = by_goid_[e.goid];
  g.samples++;
  auto [latest, first_sample] = latest_ns_.try_emplace(e.goid, e.time_ns);
  if (!first_sample && e.time_ns < latest->second) return;  // delivered late: not its latest
  latest->second = e.time_ns;
  const auto pcs = stacks_.get(e.stack);
  if (pcs.empty()) {
    g.last_function.clear();
    return;
  }
  const state::CodeFrame& leaf = ctx_.symbols->stack(e.stack).frames.front();
  g.last_function = leaf.known() ? std::string(leaf.function) : address_text(pcs.front());
}

std::vector<Location> CpuProfile::stack_of(model::StackId stack) const {
  if (stacks_.get(stack).empty()) return {unknown_location()};
  // The symbolizer looks frame 0 up at the sampled pc itself and the others,
  // return addresses, one byte back in their call instructions.
  return locations_of(ctx_.symbols->stack(stack).frames);
}

std::vector<Sample> CpuProfile::samples_list() const {
  std::vector<Sample> out;
  out.reserve(counts_.size());
  for (const auto& [key, totals] : counts_) {
    Sample s;
    s.stack = stack_of(key.stack);
    s.values = {static_cast<int64_t>(totals.samples), totals.cpu_ns};
    s.labels = {{"goid", std::to_string(key.goid)}};
    if (key.in_kernel) s.labels.emplace_back("in_kernel", "true");
    out.push_back(std::move(s));
  }
  return out;
}

Expected<void> CpuProfile::write_pprof(const std::string& path, int64_t end_ns) const {
  ProfileBuilder b({kSamplesCount, kCpuNanoseconds});
  b.set_period(kCpuNanoseconds, period_ns_);
  b.set_default_sample_type(kCpuNanoseconds.type);
  const int64_t start = ctx_.start_ns ? ctx_.start_ns : first_ns_;
  const int64_t end = end_ns ? end_ns : ctx_.end_ns ? ctx_.end_ns : last_ns_;
  b.set_time(wall_clock_at(ctx_, start), std::max<int64_t>(0, end - start));
  return write_profile(b, ctx_, samples_list(), path);
}

Expected<std::string> CpuProfile::folded() const {
  return folded_stacks(samples_list(), 0);
}

Expected<void> CpuProfile::write_folded(const std::string& path) const {
  return write_folded_file(path, samples_list(), 0);
}

}  // namespace goscope::output
