#include "output/profiles.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <string_view>
#include <utility>

#include "output/folded.h"
#include "model/recording.h"

namespace goscope::output {

using state::CodeFrame;
using model::Event;
using model::EventKind;
using model::ObjectKind;

namespace {

// The wait reasons whose parks runtime.blockevent records (chanrecv, chansend,
// selectgo, notifyListWait, and semacquire1 with semaBlockProfile).
constexpr std::array<std::string_view, 13> kBlockReasons = {
    "chan receive",
    "chan send",
    "select",
    "sync.Cond.Wait",
    "sync.Mutex.Lock",
    "sync.RWMutex.RLock",
    "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait",
    "semacquire",
    "chan receive (durable)",
    "chan send (durable)",
    "select (durable)",
    "sync.WaitGroup.Wait (durable)",
};

bool is_lock(ObjectKind kind) {
  return kind == ObjectKind::kMutex || kind == ObjectKind::kRWMutex;
}

// The lock a park waits on, if it waits on one.
const model::ObjectRef* lock_waited(const std::vector<model::ObjectRef>& objects) {
  for (const auto& o : objects)
    if (o.address && is_lock(o.kind)) return &o;
  return nullptr;
}

std::vector<model::ObjectRef> objects_of(const Event& e) {
  if (!e.objects.empty() || !e.object) return e.objects;
  return {{e.object, e.object_kind, 0}};
}

// The main binary, spanning every address the samples use: addresses are ELF
// vaddrs, and pprof only needs each location inside its mapping.
Mapping main_mapping(const ProfileContext& ctx, std::span<const Sample> samples) {
  uint64_t lo = std::numeric_limits<uint64_t>::max(), hi = 0;
  for (const Sample& s : samples)
    for (const Location& l : s.stack) {
      // Only the executable's code: not "[unknown]" (address 0, a sample without a stack),
      // nor an address no function covers (a CPU sample's leaf in the vDSO).
      if (l.address == 0 || l.lines.empty()) continue;
      lo = std::min(lo, l.address);
      hi = std::max(hi, l.address);
    }
  constexpr uint64_t kPage = 4096;
  Mapping m;
  if (lo <= hi) {
    m.start = lo & ~(kPage - 1);
    m.limit = (hi + kPage) & ~(kPage - 1);
  }
  m.filename = ctx.exe_name;
  m.build_id = ctx.build_id;
  m.has_functions = m.has_filenames = m.has_line_numbers = m.has_inline_frames = true;
  return m;
}

}  // namespace

int64_t wall_clock_at(const ProfileContext& ctx, int64_t monotonic_ns) {
  if (ctx.start_unix_ns == 0)
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  return ctx.start_unix_ns + (monotonic_ns - ctx.start_ns);
}

Expected<void> write_profile(ProfileBuilder& b, const ProfileContext& ctx, std::span<const Sample> samples,
                             const std::string& path) {
  b.set_mapping(main_mapping(ctx, samples));
  for (const Sample& s : samples) GS_CHECK(b.add_sample(s));
  return b.write_file(path);
}

ProfileContext profile_context(const model::TraceMeta& meta, const state::StackSymbolizer& symbols,
                               const model::StreamInfo& stream) {
  ProfileContext ctx;
  ctx.symbols = &symbols;
  ctx.stream = &stream;
  ctx.exe_name = meta.exe_name;
  ctx.build_id = meta.build_id;
  ctx.start_ns = meta.start_ns;
  ctx.start_unix_ns = meta.start_unix_ns;
  return ctx;
}

std::vector<Location> locations_of(std::span<const CodeFrame> frames, size_t first) {
  std::vector<Location> out;
  Location current;
  bool started = false;
  for (size_t i = first; i < frames.size(); i++) {
    const CodeFrame& f = frames[i];
    if (!started) {
      current = Location{f.pc, {}};
      started = true;
    }
    if (f.known()) current.lines.push_back({std::string(f.function), "", std::string(f.file), f.line});
    if (!f.inlined) {  // the physical frame ends the location
      out.push_back(std::move(current));
      started = false;
    }
  }
  if (started) out.push_back(std::move(current));  // a cut stack ending in an inlined frame
  return out;
}

size_t called_frame(std::span<const CodeFrame> frames) {
  size_t top = 0;  // leading frames of the runtime and sync
  while (top < frames.size() && frames[top].known() && state::is_runtime_function(frames[top].function))
    top++;
  if (top == 0 || top == frames.size()) return 0;
  size_t first = top - 1;
  // Parked by a function outside the runtime (time.Sleep): that function is the one called.
  if (frames[first].function == "runtime.gopark" || frames[first].function == "runtime.goparkunlock") first++;
  return first;
}

// ---- BlockingProfiles

BlockingProfiles::BlockingProfiles(const ProfileContext& ctx) : ctx_(ctx) {}

std::string BlockingProfiles::reason_text(uint32_t reason) const {
  const std::string_view name = ctx_.stream ? ctx_.stream->wait_reason_name(reason) : std::string_view();
  // Never empty: pprof would read an empty label as the number 0.
  return name.empty() ? "wait reason " + std::to_string(reason) : std::string(name);
}

bool BlockingProfiles::counts_as_block(const OpenInterval& interval) const {
  if (!ctx_.stream) return false;
  const std::string_view name = ctx_.stream->wait_reason_name(interval.wait_reason);
  if (std::find(kBlockReasons.begin(), kBlockReasons.end(), name) == kBlockReasons.end()) return false;
  if (name != "semacquire") return true;
  // The runtime's own semaphores (stop-the-world, GC) go through runtime.semacquire,
  // which does not profile; sync and internal/poll call semacquire1 directly.
  for (const CodeFrame& f : ctx_.symbols->stack(interval.stack).frames)
    if (f.function == "runtime.semacquire") return false;
  return true;
}

void BlockingProfiles::add(Profile& p, model::StackId stack, uint64_t goid, std::string reason,
                           std::string charged_to, int64_t delay_ns) {
  delay_ns = std::max<int64_t>(0, delay_ns);
  Totals& t = p.accumulated[{stack, goid, std::move(reason), std::move(charged_to)}];
  t.count++;
  t.delay_ns += delay_ns;
  p.totals.count++;
  p.totals.delay_ns += delay_ns;
}

void BlockingProfiles::seed(const state::StateModel& state) {
  for (const state::GoroutineInfo* g : state.goroutines()) {
    if (g->runtime) runtime_goroutine_[g->goid] = true;
    if (g->state != state::GoroutineState::kBlocked) continue;
    // Blocked before the trace began: the profile covers the trace, so it counts from the start.
    const int64_t start = std::max(ctx_.start_ns, g->since_ns);
    open_[g->goid] = {start, g->park_stack, g->wait_reason, g->waiting_on};
    if (const model::ObjectRef* lock = lock_waited(g->waiting_on)) {
      MutexWait w;
      w.object = lock->address;
      w.start_ns = w.end_ns = w.park_start_ns = start;
      w.parked = true;
      w.stack = g->park_stack;
      w.reason = reason_text(g->wait_reason);
      mutex_waits_[g->goid] = std::move(w);
    }
  }
}

void BlockingProfiles::on_event(const Event& e) {
  const int64_t t = e.time_ns;
  switch (e.kind) {
    case EventKind::kGoCreate:
      if (e.other_goid) {
        close(e.other_goid, t, nullptr);
        if (e.stack) last_stack_[e.other_goid] = e.stack;
      }
      if (e.goid && e.start_pc)
        runtime_goroutine_[e.goid] = state::is_system_goroutine(ctx_.symbols->function_at(e.start_pc));
      return;
    case EventKind::kGoExit:
      if (!e.goid) return;
      close(e.goid, t, nullptr);
      flush_mutex_wait(e.goid);
      last_stack_.erase(e.goid);
      runtime_goroutine_.erase(e.goid);
      return;
    case EventKind::kPark:
      if (!e.goid) return;
      close(e.goid, t, nullptr);  // parked again without a wake-up in between: that one was lost
      if (e.stack) last_stack_[e.goid] = e.stack;
      park(e);
      return;
    case EventKind::kReady:
      if (e.goid) {
        close(e.goid, t, nullptr);
        if (e.stack) last_stack_[e.goid] = e.stack;
      }
      if (e.other_goid) close(e.other_goid, t, &e);
      return;
    case EventKind::kStatus: {
      // As the state model reads it: other_goid made the change, goid's status changed.
      if (e.other_goid && e.other_goid != e.goid) close(e.other_goid, t, nullptr);
      if (!e.goid) return;
      const auto to = static_cast<model::GStatus>(static_cast<uint32_t>(e.value) & ~model::kGScanBit);
      switch (to) {
        case model::GStatus::kRunning:
        case model::GStatus::kSyscall:
        case model::GStatus::kRunnable:
        case model::GStatus::kPreempted:
          close(e.goid, t, nullptr);
          return;
        case model::GStatus::kDead:
          close(e.goid, t, nullptr);
          flush_mutex_wait(e.goid);
          return;
        default:
          return;
      }
    }
    default:
      break;
  }
  if (e.goid) {
    close(e.goid, t, nullptr);
    if (e.stack) last_stack_[e.goid] = e.stack;
  }
  switch (e.kind) {
    case EventKind::kSyncRelease:
    case EventKind::kMutexUnlock:
    case EventKind::kRUnlock:
      if (e.object) last_release_[e.object] = {e.goid, e.stack, t};
      return;
    case EventKind::kMutexLock:
      if (e.goid && e.object && (e.flags & model::kContended) && e.begin_ns > 0) acquired(e);
      return;
    default:
      return;
  }
}

void BlockingProfiles::park(const Event& e) {
  OpenInterval interval{e.time_ns, e.stack, e.wait_reason, objects_of(e)};
  const model::ObjectRef* lock = lock_waited(interval.objects);
  auto it = mutex_waits_.find(e.goid);
  if (it != mutex_waits_.end() && (!lock || it->second.object != lock->address)) {
    flush_mutex_wait(e.goid);  // waits on something else now: that lock wait is over
    it = mutex_waits_.end();
  }
  if (lock) {
    if (it == mutex_waits_.end()) {
      MutexWait w;
      w.object = lock->address;
      w.start_ns = e.time_ns;
      w.stack = e.stack;
      w.reason = reason_text(e.wait_reason);
      it = mutex_waits_.emplace(e.goid, std::move(w)).first;
    }
    // Woken and parked again on the same lock (it lost the race): the same wait goes on.
    it->second.parked = true;
    it->second.park_start_ns = e.time_ns;
  }
  open_[e.goid] = std::move(interval);
}

void BlockingProfiles::close(uint64_t goid, int64_t t, const Event* wake, bool trace_ended) {
  auto it = open_.find(goid);
  if (it == open_.end()) return;
  const OpenInterval interval = std::move(it->second);
  open_.erase(it);
  const int64_t delay = t - interval.start_ns;
  const std::string reason = reason_text(interval.wait_reason);
  if (counts_as_block(interval)) add(block_, interval.stack, goid, reason, "", delay);
  auto runtime = runtime_goroutine_.find(goid);
  const bool of_runtime =
      runtime != runtime_goroutine_.end()
          ? runtime->second
          : state::is_system_goroutine(ctx_.symbols->stack(interval.stack).start_function);
  if (!of_runtime) add(offcpu_, interval.stack, goid, reason, "", delay);

  auto waiting = mutex_waits_.find(goid);
  if (waiting == mutex_waits_.end() || !waiting->second.parked) return;
  MutexWait& w = waiting->second;
  w.parked = false;
  w.end_ns = std::max(w.end_ns, t);
  if (trace_ended) return;  // still waiting: nobody woke it
  auto release = last_release_.find(w.object);
  if (release == last_release_.end()) return;
  const Release& r = release->second;
  const bool by_other = r.goid != 0 && r.goid != goid;
  const bool during_park = r.time_ns >= w.park_start_ns && r.time_ns <= t;
  const bool from_waker = !wake || wake->goid == 0 || wake->goid == r.goid;
  if (by_other && during_park && from_waker) w.releaser = r;
}

void BlockingProfiles::acquired(const Event& e) {
  auto it = mutex_waits_.find(e.goid);
  // Parks of this very call of lockSlow began after it: anything else is an older wait.
  if (it != mutex_waits_.end() && (it->second.object != e.object || it->second.start_ns < e.begin_ns)) {
    flush_mutex_wait(e.goid);
    it = mutex_waits_.end();
  }
  MutexWait w;
  if (it != mutex_waits_.end()) {
    w = std::move(it->second);
    mutex_waits_.erase(it);
  } else {
    w.object = e.object;
    w.reason = e.object_kind == ObjectKind::kRWMutex ? "sync.RWMutex.Lock" : "sync.Mutex.Lock";
  }
  w.start_ns = e.begin_ns;
  w.end_ns = e.time_ns;
  if (e.stack) w.stack = e.stack;
  if (!w.releaser) {
    // Never parked (it spun), or its wake-up was not seen: an unlock by another goroutine
    // while it waited is what let it in.
    auto release = last_release_.find(e.object);
    if (release != last_release_.end()) {
      const Release& r = release->second;
      if (r.goid != 0 && r.goid != e.goid && r.time_ns >= e.begin_ns && r.time_ns <= e.time_ns)
        w.releaser = r;
    }
  }
  mutex_waits_[e.goid] = std::move(w);
  flush_mutex_wait(e.goid);
}

void BlockingProfiles::flush_mutex_wait(uint64_t goid) {
  auto it = mutex_waits_.find(goid);
  if (it == mutex_waits_.end()) return;
  MutexWait w = std::move(it->second);
  mutex_waits_.erase(it);
  const int64_t delay = w.end_ns - w.start_ns;
  if (w.releaser)
    add(mutex_, w.releaser->stack, w.releaser->goid, w.reason, "unlocker", delay);
  else
    add(mutex_, w.stack, goid, w.reason, "waiter", delay);
}

void BlockingProfiles::finish(int64_t end_ns) {
  end_ns_ = end_ns;
  std::vector<uint64_t> blocked;
  blocked.reserve(open_.size());
  for (const auto& [goid, interval] : open_) blocked.push_back(goid);
  std::sort(blocked.begin(), blocked.end());
  for (uint64_t goid : blocked) close(goid, end_ns, nullptr, true);
  std::vector<uint64_t> waiting;
  for (const auto& [goid, w] : mutex_waits_) waiting.push_back(goid);
  std::sort(waiting.begin(), waiting.end());
  for (uint64_t goid : waiting) flush_mutex_wait(goid);
  build(block_);
  build(mutex_);
  build(offcpu_);
}

void BlockingProfiles::build(Profile& p) const {
  p.samples.clear();
  p.samples.reserve(p.accumulated.size());
  for (const auto& [key, totals] : p.accumulated) {
    const auto& [stack, goid, reason, charged_to] = key;
    auto cached = trimmed_.find(stack);
    if (cached == trimmed_.end()) {
      const auto& frames = ctx_.symbols->stack(stack).frames;
      cached = trimmed_.emplace(stack, locations_of(frames, called_frame(frames))).first;
    }
    Sample s;
    s.stack = cached->second;
    s.values = {static_cast<int64_t>(totals.count), totals.delay_ns};
    s.labels = {{"goid", std::to_string(goid)}, {"wait_reason", reason}};
    if (!charged_to.empty()) s.labels.emplace_back("charged_to", charged_to);
    p.samples.push_back(std::move(s));
  }
}

Expected<void> BlockingProfiles::write(const Profile& p, const std::string& path) const {
  // As runtime/pprof writes block and mutex profiles; every event is recorded (period 1).
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}});
  b.set_period({"contentions", "count"}, 1);
  const int64_t end = ctx_.end_ns ? ctx_.end_ns : end_ns_;
  b.set_time(wall_clock_at(ctx_, ctx_.start_ns), std::max<int64_t>(0, end - ctx_.start_ns));
  return write_profile(b, ctx_, p.samples, path);
}

Expected<void> BlockingProfiles::write_block(const std::string& path) const {
  return write(block_, path);
}

Expected<void> BlockingProfiles::write_mutex(const std::string& path) const {
  return write(mutex_, path);
}

Expected<void> BlockingProfiles::write_offcpu(const std::string& path) const {
  return write(offcpu_, path);
}

Expected<void> BlockingProfiles::write_block_folded(const std::string& path) const {
  return write_folded_file(path, block_.samples, kDelayIndex);
}

Expected<void> BlockingProfiles::write_offcpu_folded(const std::string& path) const {
  return write_folded_file(path, offcpu_.samples, kDelayIndex);
}

Expected<void> BlockingProfiles::write_goroutines(const std::string& path, const state::StateModel& state,
                                                  int64_t at_ns, bool include_runtime) const {
  return write_goroutine_profile(path, live_goroutines(state, ctx_, &last_stack_, include_runtime), ctx_,
                                 at_ns);
}

// ---- goroutine profile

std::vector<GoroutineEntry> live_goroutines(const state::StateModel& state, const ProfileContext& ctx,
                                            const std::unordered_map<uint64_t, model::StackId>* last_stacks,
                                            bool include_runtime) {
  std::vector<GoroutineEntry> out;
  for (const state::GoroutineInfo* g : state.goroutines()) {
    if (g->state == state::GoroutineState::kExited) continue;
    if (g->runtime && !include_runtime) continue;
    GoroutineEntry entry;
    entry.goid = g->goid;
    entry.created_pc = g->created_pc;
    if (g->state == state::GoroutineState::kBlocked) {
      const std::string_view name = ctx.stream ? ctx.stream->wait_reason_name(g->wait_reason) : "";
      entry.state = name.empty() ? "wait reason " + std::to_string(g->wait_reason) : std::string(name);
      entry.stack = g->park_stack;
    } else {
      entry.state = state::goroutine_state_name(g->state);
      if (last_stacks)
        if (auto it = last_stacks->find(g->goid); it != last_stacks->end()) entry.stack = it->second;
      if (!entry.stack) entry.stack = g->park_stack;  // its stack at attach, or where it last blocked
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Expected<void> write_goroutine_profile(const std::string& path, std::span<const GoroutineEntry> goroutines,
                                       const ProfileContext& ctx, int64_t at_ns) {
  ProfileBuilder b(std::vector<ValueType>{{"goroutine", "count"}});
  b.set_period({"goroutine", "count"}, 1);
  b.set_time(wall_clock_at(ctx, at_ns), 0);
  std::vector<Sample> samples;
  samples.reserve(goroutines.size());
  for (const GoroutineEntry& g : goroutines) {
    Sample s;
    s.values = {1};
    s.labels = {{"goid", std::to_string(g.goid)}, {"wait_reason", g.state.empty() ? "unknown" : g.state}};
    if (g.stack)
      s.stack = locations_of(ctx.symbols->stack(g.stack).frames);
    else if (g.created_pc)
      s.stack = locations_of(ctx.symbols->frames_at(g.created_pc, true));
    samples.push_back(std::move(s));
  }
  return write_profile(b, ctx, samples, path);
}

Expected<void> write_goroutine_profile(const std::string& path, const state::StateModel& state,
                                       const ProfileContext& ctx, int64_t at_ns, bool include_runtime) {
  return write_goroutine_profile(path, live_goroutines(state, ctx, nullptr, include_runtime), ctx, at_ns);
}

}  // namespace goscope::output
