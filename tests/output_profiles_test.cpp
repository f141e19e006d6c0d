// Block, mutex, off-CPU and goroutine profiles from synthetic event streams whose
// stacks are real addresses of the mutex_contention test program: exact totals
// against the stream, which wait reasons count, who a mutex wait is charged to.
// Then the real reader: every toolchain of the matrix runs `go tool pprof` on the
// profiles written over its own build of the program, without the binary.
#include "output/profiles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "state/state_model.h"
#include "state/stack_symbolizer.h"
#include "model/snapshot.h"
#include "output/folded.h"
#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::output {
namespace {

namespace fs = std::filesystem;
using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::ObjectKind;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kChan = 0xc000020060;
constexpr uint64_t kGate = 0xc0000180a0;  // the mutex
constexpr uint64_t kWaitGroup = 0xc0000180b0;
constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 5'000 * kMs;  // the trace starts here
constexpr uint64_t kMain = 1;

// Goroutine ids of the streams.
constexpr uint64_t kReceiver = 1;  // main: receives, waits on the WaitGroup, unlocks the gate
constexpr uint64_t kSender = 5;
constexpr uint64_t kSleeper = 6;
constexpr uint64_t kWaiter = 7;  // waits on the gate
constexpr uint64_t kSpinner = 8;
constexpr uint64_t kGcWorker = 20;

// Stacks and events of one toolchain's build of mutex_contention.
class Stream {
 public:
  explicit Stream(const std::string& version) : s("mutex_contention", version) {
    if (!s.ok()) return;
    symbols = std::make_shared<state::StackSymbolizer>(*s.binary, s.stacks);
    state = std::make_unique<state::StateModel>(symbols);
    recv_line = s.source_line(R"(ids := \[\]int64\{<-announce)");
    wait_line = s.source_line(R"(^\tgw\.Wait\(\)$)");
    sleep_line = s.source_line(R"(time\.Sleep\(tp\.HoldDuration)");
    lock_line = s.source_line(R"(^\t\t\tgate\.Lock\(\)$)");
    unlock_line = s.source_line(R"(^\tgate\.Unlock\(\)$)");
    const uint64_t lock_call = inlined_call("main.main.func1", "sync.(*Mutex).Lock", lock_line);
    const uint64_t unlock_call = inlined_call("main.main", "sync.(*Mutex).Unlock", unlock_line);
    const uint64_t main_bottom[] = {s.in("runtime.main"), s.in("runtime.goexit")};
    recv = s.stack({s.entry("runtime.gopark"), s.in("runtime.chanrecv"), s.in("runtime.chanrecv1"),
                    s.call_at("main.main", recv_line), main_bottom[0], main_bottom[1]});
    wg_wait = s.stack({s.entry("runtime.gopark"), s.in("runtime.semacquire1"), s.in("sync.(*WaitGroup).Wait"),
                       s.call_at("main.main", wait_line), main_bottom[0], main_bottom[1]});
    sleep = s.stack({s.entry("runtime.gopark"), s.in("time.Sleep"), s.call_at("main.main", sleep_line),
                     main_bottom[0], main_bottom[1]});
    lock_park = s.stack({s.entry("runtime.gopark"), s.in("runtime.semacquire1"), s.in(lock_slow()), lock_call,
                         s.in("runtime.goexit")});
    lock_slow_entry = s.stack({s.entry(lock_slow()), lock_call, s.in("runtime.goexit")});
    unlock_slow_entry = s.stack({s.entry(unlock_slow()), unlock_call, main_bottom[0], main_bottom[1]});
    release = s.stack(
        {s.entry("runtime.semrelease1"), s.in(unlock_slow()), unlock_call, main_bottom[0], main_bottom[1]});
    gc_idle = s.stack({s.entry("runtime.gopark"), s.in("runtime.gcBgMarkWorker"), s.in("runtime.goexit")});
    send =
        s.stack({s.in("runtime.chansend1"), s.call_at("main.main.func1", s.source_line(R"(announce <- id)")),
                 s.in("runtime.goexit")});
  }

  bool ok() const { return symbols != nullptr; }

  ProfileContext context() const {
    ProfileContext ctx;
    ctx.symbols = symbols.get();
    ctx.stream = &s.info;
    ctx.exe_name = "/srv/mutex_contention";
    ctx.build_id = "b1d0c0ffee";
    ctx.start_ns = kT0;
    ctx.start_unix_ns = 1'700'000'000'000'000'000;
    return ctx;
  }

  // The Go >= 1.24 runtime moved the Mutex's slow paths to internal/sync.
  std::string lock_slow() const {
    return has("internal/sync.(*Mutex).lockSlow") ? "internal/sync.(*Mutex).lockSlow"
                                                  : "sync.(*Mutex).lockSlow";
  }
  std::string unlock_slow() const {
    return has("internal/sync.(*Mutex).unlockSlow") ? "internal/sync.(*Mutex).unlockSlow"
                                                    : "sync.(*Mutex).unlockSlow";
  }
  bool has(const std::string& function) const { return s.binary->function_address(function).has_value(); }
  // The reason a goroutine in WaitGroup.Wait parks with: its own one since Go 1.25.
  std::string wait_group_reason() const {
    for (const auto& r : s.info.wait_reasons)
      if (r == "sync.WaitGroup.Wait") return r;
    return "semacquire";
  }
  std::string mutex_reason() const {
    for (const auto& r : s.info.wait_reasons)
      if (r == "sync.Mutex.Lock") return r;
    return "semacquire";  // Go 1.19
  }

  // A return address in `caller` whose call sits in an inlined `callee` at `line` of the caller.
  uint64_t inlined_call(const std::string& caller, const std::string& callee, int line) const {
    const auto& tab = s.binary->pclntab();
    auto idx = tab.function_named(caller);
    if (!idx) {
      ADD_FAILURE() << "no function " << caller;
      return 0;
    }
    for (uint64_t pc = tab.function_entry(*idx); pc < tab.function_end(*idx); pc++) {
      const auto frames = tab.frames_at(pc);
      if (frames.size() < 2 || frames.back().line != line) continue;
      for (const auto& f : frames)
        if (f.function == callee && f.inlined) return pc + 1;
    }
    ADD_FAILURE() << caller << " has no inlined " << callee << " at line " << line;
    return 0;
  }

  Event park(uint64_t goid, int64_t t, model::StackId stack, const std::string& reason, uint64_t object = 0,
             ObjectKind kind = ObjectKind::kNone) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, stack);
    e.wait_reason = s.reason(reason);
    if (object) {
      e.objects = {{object, kind, 0}};
      e.object = object;
      e.object_kind = kind;
    }
    return e;
  }
  static Event ready(uint64_t waker, uint64_t woken, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kReady, waker, t);
    e.other_goid = woken;
    return e;
  }
  static Event on_object(EventKind kind, uint64_t goid, int64_t t, model::StackId stack, uint64_t object,
                         ObjectKind object_kind, uint16_t flags = 0, int64_t begin_ns = 0) {
    Event e = SyntheticEvents::event(kind, goid, t, stack);
    e.object = object;
    e.object_kind = object_kind;
    e.flags = flags;
    e.begin_ns = begin_ns;
    return e;
  }

  // A contended wait on the gate: parked from +1.1 ms, woken by main's unlock at +9.2 ms,
  // lockSlow from +0.5 ms to +9.5 ms (9 ms of mutex delay, charged to main's Unlock).
  std::vector<Event> gate_wait(int64_t base) {
    return {
        on_object(EventKind::kSyncBlock, kWaiter, base + 1 * kMs, lock_park, kGate, ObjectKind::kMutex),
        park(kWaiter, base + 1 * kMs + 100 * kUs, lock_park, mutex_reason(), kGate, ObjectKind::kMutex),
        on_object(EventKind::kMutexUnlock, kReceiver, base + 9 * kMs, unlock_slow_entry, kGate,
                  ObjectKind::kMutex, model::kContended),
        on_object(EventKind::kSyncRelease, kReceiver, base + 9 * kMs + 100 * kUs, release, kGate,
                  ObjectKind::kMutex),
        ready(kReceiver, kWaiter, base + 9 * kMs + 200 * kUs),
        on_object(EventKind::kMutexLock, kWaiter, base + 9 * kMs + 500 * kUs, lock_slow_entry, kGate,
                  ObjectKind::kMutex, model::kContended, base + 500 * kUs),
    };
  }

  // Every kind of wait: a receive woken after 5 ms, a sleep of 30 ms, an idle GC worker,
  // a WaitGroup.Wait and a receive on a nil channel still blocked at +50 ms, the gate wait
  // above, and a lock won by spinning for 200 us.
  std::vector<Event> mixed() {
    std::vector<Event> out = {
        park(kReceiver, kT0, recv, "chan receive", kChan, ObjectKind::kChannel),
        park(kSleeper, kT0 + 1 * kMs, sleep, "sleep"),
        park(kGcWorker, kT0 + 2 * kMs, gc_idle, "GC worker (idle)"),
        park(kSender + 100, kT0 + 3 * kMs, send, "chan receive (nil chan)"),
        on_object(EventKind::kChanSend, kSender, kT0 + 5 * kMs, send, kChan, ObjectKind::kChannel),
        ready(kSender, kReceiver, kT0 + 5 * kMs),
        park(kReceiver, kT0 + 10 * kMs, wg_wait, wait_group_reason(), kWaitGroup, ObjectKind::kWaitGroup),
        on_object(EventKind::kChanMake, kSleeper, kT0 + 31 * kMs, sleep, kChan + 8, ObjectKind::kChannel),
        on_object(EventKind::kMutexLock, kSpinner, kT0 + 32 * kMs, lock_slow_entry, kGate, ObjectKind::kMutex,
                  model::kContended, kT0 + 31 * kMs + 800 * kUs),
    };
    for (Event& e : gate_wait(kT0 + 11 * kMs)) out.push_back(std::move(e));
    // The gate wait's unlock came from main, blocked on the WaitGroup since +10 ms in this
    // stream: let main's unlock be some other goroutine's so main stays blocked.
    for (Event& e : out)
      if (e.goid == kReceiver && e.time_ns > kT0 + 11 * kMs) e.goid = kMain + 1000;
    std::stable_sort(out.begin(), out.end(),
                     [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
    return out;
  }

  void feed(BlockingProfiles& p, const std::vector<Event>& events) {
    for (const Event& e : events) {
      state->apply(e);
      p.on_event(e);
    }
  }

  SyntheticEvents s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> state;
  int recv_line = 0, wait_line = 0, sleep_line = 0, lock_line = 0, unlock_line = 0;
  model::StackId recv = 0, wg_wait = 0, sleep = 0, lock_park = 0, lock_slow_entry = 0, unlock_slow_entry = 0,
                 release = 0, gc_idle = 0, send = 0;
};

std::string label(const Sample& s, const std::string& key) {
  for (const auto& [k, v] : s.labels)
    if (k == key) return v;
  return "";
}

const Sample* find_sample(const std::vector<Sample>& samples, const std::string& key,
                          const std::string& value) {
  for (const Sample& s : samples)
    if (label(s, key) == value) return &s;
  return nullptr;
}

std::string leaf(const Sample& s) {
  return s.stack.empty() || s.stack[0].lines.empty() ? "" : s.stack[0].lines[0].function;
}

class OutputProfiles : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    stream = std::make_unique<Stream>("1.22");
    ASSERT_TRUE(stream->ok());
  }
  std::unique_ptr<Stream> stream;
};

TEST_F(OutputProfiles, BlockCountsChannelAndSyncWaitsNotSleepsOrRuntimeWaits) {
  BlockingProfiles p(stream->context());
  stream->feed(p, stream->mixed());
  p.finish(kT0 + 50 * kMs);

  // Receive 5 ms + WaitGroup 40 ms (blocked until the end) + gate park 8.1 ms.
  EXPECT_EQ(p.block_totals(), (BlockingProfiles::Totals{3, 5 * kMs + 40 * kMs + 8 * kMs + 100 * kUs}));
  ASSERT_EQ(p.block_samples().size(), 3u);
  const Sample* recv = find_sample(p.block_samples(), "wait_reason", "chan receive");
  ASSERT_NE(recv, nullptr);
  EXPECT_EQ(recv->values, (std::vector<int64_t>{1, 5 * kMs}));
  EXPECT_EQ(label(*recv, "goid"), "1");
  // Starts at the function the program called, as Go's block profile does.
  EXPECT_EQ(leaf(*recv), "runtime.chanrecv1");
  ASSERT_GE(recv->stack.size(), 2u);
  ASSERT_EQ(recv->stack[1].lines.size(), 1u);
  EXPECT_EQ(recv->stack[1].lines[0].function, "main.main");
  EXPECT_EQ(recv->stack[1].lines[0].line, stream->recv_line);
  EXPECT_THAT(recv->stack[1].lines[0].file, HasSubstr("mutex_contention/main.go"));

  const Sample* wg = find_sample(p.block_samples(), "wait_reason", "semacquire");
  ASSERT_NE(wg, nullptr);
  EXPECT_EQ(wg->values, (std::vector<int64_t>{1, 40 * kMs}));
  EXPECT_EQ(leaf(*wg), "sync.(*WaitGroup).Wait");

  // The inlined Lock and the closure it is inlined into: one location, two lines.
  const Sample* gate = find_sample(p.block_samples(), "wait_reason", "sync.Mutex.Lock");
  ASSERT_NE(gate, nullptr);
  EXPECT_EQ(label(*gate, "goid"), "7");
  ASSERT_FALSE(gate->stack.empty());
  ASSERT_EQ(gate->stack[0].lines.size(), 2u);
  EXPECT_EQ(gate->stack[0].lines[0].function, "sync.(*Mutex).Lock");
  EXPECT_EQ(gate->stack[0].lines[1].function, "main.main.func1");
  EXPECT_EQ(gate->stack[0].lines[1].line, stream->lock_line);

  // Off-CPU: those, the 30 ms sleep and the nil-channel receive (47 ms, open at the end); not the GC worker.
  EXPECT_EQ(p.offcpu_totals(),
            (BlockingProfiles::Totals{5, 5 * kMs + 40 * kMs + 8 * kMs + 100 * kUs + 30 * kMs + 47 * kMs}));
  const Sample* sleep = find_sample(p.offcpu_samples(), "wait_reason", "sleep");
  ASSERT_NE(sleep, nullptr);
  EXPECT_EQ(leaf(*sleep), "time.Sleep");
  EXPECT_EQ(find_sample(p.offcpu_samples(), "wait_reason", "GC worker (idle)"), nullptr);

  auto folded = folded_stacks(p.block_samples(), BlockingProfiles::kDelayIndex);
  ASSERT_TRUE(folded) << folded.error().message;
  EXPECT_THAT(*folded, HasSubstr("runtime.main;main.main;runtime.chanrecv1 5000000\n"));
  EXPECT_THAT(*folded, HasSubstr("main.main.func1;sync.(*Mutex).Lock 8100000\n"));
  EXPECT_THAT(*folded, Not(HasSubstr("gopark")));
}

TEST_F(OutputProfiles, EqualStacksAndLabelsMerge) {
  BlockingProfiles p(stream->context());
  for (int i = 0; i < 3; i++) {
    const int64_t t = kT0 + i * 10 * kMs;
    stream->feed(p, {stream->park(kReceiver, t, stream->recv, "chan receive", kChan, ObjectKind::kChannel),
                     Stream::ready(kSender, kReceiver, t + (i + 1) * kMs)});
  }
  p.finish(kT0 + 100 * kMs);
  ASSERT_EQ(p.block_samples().size(), 1u);
  EXPECT_EQ(p.block_samples()[0].values, (std::vector<int64_t>{3, 6 * kMs}));
  EXPECT_EQ(p.block_totals(), (BlockingProfiles::Totals{3, 6 * kMs}));
}

TEST_F(OutputProfiles, TheRuntimesOwnSemaphoresAreNotBlocking) {
  // runtime.semacquire (inlined into stopTheWorld) does not profile; sync's semaphores do.
  const auto& tab = stream->s.binary->pclntab();
  uint64_t internal_call = 0;
  for (const char* caller : {"runtime.stopTheWorld", "runtime.stopTheWorldGC", "runtime.gcStart"}) {
    auto idx = tab.function_named(caller);
    if (!idx) continue;
    for (uint64_t pc = tab.function_entry(*idx); pc < tab.function_end(*idx) && !internal_call; pc++)
      for (const auto& f : tab.frames_at(pc))
        if (f.function == "runtime.semacquire" && f.inlined) internal_call = pc + 1;
    if (internal_call) break;
  }
  ASSERT_NE(internal_call, 0u) << "no inlined runtime.semacquire found";
  const auto internal =
      stream->s.stack({stream->s.entry("runtime.gopark"), stream->s.in("runtime.semacquire1"), internal_call,
                       stream->s.call_at("main.main", stream->wait_line)});
  BlockingProfiles p(stream->context());
  stream->feed(p,
               {stream->park(kReceiver, kT0, internal, "semacquire"), Stream::ready(0, kReceiver, kT0 + kMs),
                stream->park(kReceiver, kT0 + 2 * kMs, stream->wg_wait, "semacquire"),
                Stream::ready(kSender, kReceiver, kT0 + 5 * kMs)});
  p.finish(kT0 + 10 * kMs);
  EXPECT_EQ(p.block_totals(), (BlockingProfiles::Totals{1, 3 * kMs}));
  EXPECT_EQ(p.offcpu_totals(), (BlockingProfiles::Totals{2, 4 * kMs}));
}

TEST_F(OutputProfiles, GoroutinesBlockedAtAttachCountFromTheTraceStart) {
  model::ProcessSnapshot snap;
  snap.taken_at_ns = kT0 + 1 * kMs;
  auto blocked = [&](uint64_t goid, model::StackId stack, const std::string& reason) {
    model::GoroutineSnapshot g;
    g.goid = goid;
    g.status = static_cast<uint32_t>(model::GStatus::kWaiting);
    g.wait_reason = stream->s.reason(reason);
    g.wait_reason_name = reason;
    g.wait_since_ns = kT0 - 60'000 * kMs;  // long before the trace
    for (uint64_t pc : stream->s.stacks.get(stack)) g.stack.push_back(pc);
    g.waiting_on = {{model::WaitedObject::Kind::kChannel, kChan, false}};
    return g;
  };
  snap.goroutines = {blocked(kReceiver, stream->recv, "chan receive"),
                     blocked(kSender, stream->recv, "chan receive")};
  stream->state->seed(snap, 0, stream->s.stacks);

  BlockingProfiles p(stream->context());
  p.seed(*stream->state);
  stream->feed(p, {Stream::ready(kSleeper, kReceiver, kT0 + 7 * kMs)});
  p.finish(kT0 + 20 * kMs);
  // 7 ms and 20 ms (still blocked): both from the trace start, not from when they blocked.
  EXPECT_EQ(p.block_totals(), (BlockingProfiles::Totals{2, 27 * kMs}));
  const Sample* receiver = find_sample(p.block_samples(), "goid", "1");
  ASSERT_NE(receiver, nullptr);
  EXPECT_EQ(receiver->values, (std::vector<int64_t>{1, 7 * kMs}));
}

TEST_F(OutputProfiles, MutexWaitIsChargedToTheUnlocker) {
  BlockingProfiles p(stream->context());
  stream->feed(p, stream->gate_wait(kT0));
  p.finish(kT0 + 20 * kMs);
  // The whole lockSlow call, 0.5 ms to 9.5 ms, charged to main's Unlock.
  EXPECT_EQ(p.mutex_totals(), (BlockingProfiles::Totals{1, 9 * kMs}));
  ASSERT_EQ(p.mutex_samples().size(), 1u);
  const Sample& s = p.mutex_samples()[0];
  EXPECT_EQ(label(s, "charged_to"), "unlocker");
  EXPECT_EQ(label(s, "goid"), "1");
  EXPECT_EQ(label(s, "wait_reason"), "sync.Mutex.Lock");
  ASSERT_FALSE(s.stack.empty());
  ASSERT_EQ(s.stack[0].lines.size(), 2u);
  EXPECT_EQ(s.stack[0].lines[0].function, "sync.(*Mutex).Unlock");
  EXPECT_EQ(s.stack[0].lines[1].function, "main.main");
  EXPECT_EQ(s.stack[0].lines[1].line, stream->unlock_line);
  // The block profile has the park: 1.1 ms to 9.2 ms, on the waiter's stack.
  EXPECT_EQ(p.block_totals(), (BlockingProfiles::Totals{1, 8 * kMs + 100 * kUs}));
}

TEST_F(OutputProfiles, MutexWaitSeenOnlyAsParkAndReady) {
  // Without the lockSlow events: the park on the lock's semaphore, the release, the ready.
  BlockingProfiles p(stream->context());
  std::vector<Event> events;
  for (Event& e : stream->gate_wait(kT0))
    if (e.kind != EventKind::kMutexLock) events.push_back(std::move(e));
  stream->feed(p, events);
  p.finish(kT0 + 20 * kMs);
  EXPECT_EQ(p.mutex_totals(), (BlockingProfiles::Totals{1, 8 * kMs + 100 * kUs}));
  ASSERT_EQ(p.mutex_samples().size(), 1u);
  EXPECT_EQ(label(p.mutex_samples()[0], "charged_to"), "unlocker");
  EXPECT_EQ(leaf(p.mutex_samples()[0]), "sync.(*Mutex).Unlock");
}

TEST_F(OutputProfiles, MutexWaitIsChargedToTheWaiterWithoutAWakingRelease) {
  BlockingProfiles p(stream->context());
  stream->feed(
      p, {
             // Won by spinning: no release seen.
             Stream::on_object(EventKind::kMutexLock, kSpinner, kT0 + 1 * kMs, stream->lock_slow_entry, kGate,
                               ObjectKind::kMutex, model::kContended, kT0 + 800 * kUs),
             // Released by one goroutine, readied by another: not that release's doing.
             stream->park(kWaiter, kT0 + 2 * kMs, stream->lock_park, "sync.Mutex.Lock", kGate,
                          ObjectKind::kMutex),
             Stream::on_object(EventKind::kSyncRelease, kReceiver, kT0 + 3 * kMs, stream->release, kGate,
                               ObjectKind::kMutex),
             Stream::ready(kSender, kWaiter, kT0 + 4 * kMs),
             // Released before it parked.
             stream->park(kWaiter + 100, kT0 + 5 * kMs, stream->lock_park, "sync.Mutex.Lock", kGate,
                          ObjectKind::kMutex),
             Stream::ready(kReceiver, kWaiter + 100, kT0 + 6 * kMs),
             // Still waiting when the trace ends, though the lock was released meanwhile.
             stream->park(kSpinner, kT0 + 10 * kMs, stream->lock_park, "sync.Mutex.Lock", kGate,
                          ObjectKind::kMutex),
             Stream::on_object(EventKind::kSyncRelease, kReceiver, kT0 + 12 * kMs, stream->release, kGate,
                               ObjectKind::kMutex),
         });
  p.finish(kT0 + 20 * kMs);
  EXPECT_EQ(p.mutex_totals(), (BlockingProfiles::Totals{4, 200 * kUs + 2 * kMs + 1 * kMs + 10 * kMs}));
  for (const Sample& s : p.mutex_samples()) {
    EXPECT_EQ(label(s, "charged_to"), "waiter");
    EXPECT_EQ(leaf(s), "sync.(*Mutex).Lock");
  }
}

TEST_F(OutputProfiles, GoroutineProfileHasEveryLiveGoroutine) {
  const uint64_t go_pc = stream->s.call_at("main.main", stream->s.source_line(R"(^\t\tgo func\(\) \{$)"));
  Event create = SyntheticEvents::event(EventKind::kGoCreate, 30, kT0);
  create.other_goid = kReceiver;
  create.pc = go_pc;
  create.start_pc = stream->s.entry("main.main.func1");
  Event gc_create = SyntheticEvents::event(EventKind::kGoCreate, kGcWorker, kT0);
  gc_create.start_pc = stream->s.entry("runtime.gcBgMarkWorker");
  BlockingProfiles p(stream->context());
  stream->feed(p, {
                      create,
                      gc_create,
                      stream->park(kGcWorker, kT0 + 1, stream->gc_idle, "GC worker (idle)"),
                      stream->park(kWaiter, kT0 + 1 * kMs, stream->lock_park, "sync.Mutex.Lock", kGate,
                                   ObjectKind::kMutex),
                      Stream::on_object(EventKind::kChanSend, kSender, kT0 + 2 * kMs, stream->send, kChan,
                                        ObjectKind::kChannel),
                      SyntheticEvents::event(EventKind::kGoExit, kSleeper, kT0 + 3 * kMs),
                  });
  const auto entries = live_goroutines(*stream->state, stream->context(), &p.last_stacks(), false);
  ASSERT_EQ(entries.size(), 4u);  // main (the creator), 5, 7, 30; not the GC worker, not the exited one
  EXPECT_EQ(entries[0].goid, kReceiver);
  EXPECT_EQ(entries[0].state, "running");
  EXPECT_EQ(entries[1].goid, kSender);
  EXPECT_EQ(entries[1].state, "running");
  EXPECT_EQ(entries[1].stack, stream->send);
  EXPECT_EQ(entries[2].goid, kWaiter);
  EXPECT_EQ(entries[2].state, "sync.Mutex.Lock");
  EXPECT_EQ(entries[2].stack, stream->lock_park);
  EXPECT_EQ(entries[3].goid, 30u);
  EXPECT_EQ(entries[3].state, "runnable");
  EXPECT_EQ(entries[3].stack, 0u);
  EXPECT_EQ(entries[3].created_pc, go_pc);
  EXPECT_EQ(live_goroutines(*stream->state, stream->context(), nullptr, true).size(), 5u);
}

// ---- read back by go tool pprof, of every toolchain of the matrix

// The total of `go tool pprof -top`, in nanoseconds for a duration: pprof scales it
// to a unit of its choosing with two decimals. -1 when the line is missing.
int64_t pprof_total(const std::string& output) {
  static const std::regex re(
      R"(Showing nodes accounting for [^,]+, [0-9.]+% of ([0-9.]+)(ns|us|ms|s)? total)");
  std::smatch m;
  if (!std::regex_search(output, m, re)) return -1;
  const std::string unit = m[2];
  const double scale = unit == "s" ? 1e9 : unit == "ms" ? 1e6 : unit == "us" ? 1e3 : 1;
  return std::llround(std::stod(m[1]) * scale);
}

TEST(OutputProfilesGoTool, EveryToolchainReadsBlockMutexAndGoroutineProfiles) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : testing::toolchains()) {
    SCOPED_TRACE("go " + tc.version);
    Stream stream(tc.version);
    ASSERT_TRUE(stream.ok());
    BlockingProfiles p(stream.context());
    stream.feed(p, stream.mixed());
    p.finish(kT0 + 50 * kMs);
    const fs::path dir = fs::path(testing::scratch_dir()) / tc.version;
    fs::create_directories(dir);
    const fs::path block = dir / "block.pb.gz", mutex = dir / "mutex.pb.gz",
                   goroutines = dir / "goroutine.pb.gz";
    ASSERT_TRUE(p.write_block(block.string()));
    ASSERT_TRUE(p.write_mutex(mutex.string()));
    ASSERT_TRUE(p.write_goroutines(goroutines.string(), *stream.state, kT0 + 50 * kMs));
    const std::string file = "mutex_contention/main.go:";

    // Block: delay and contentions totals as we count them; functions and lines from the profile alone.
    auto top = testing::go_tool_pprof(tc, "-top -sample_index=delay", block.string());
    ASSERT_EQ(top.exit_code, 0) << top.output;
    EXPECT_THAT(top.output, HasSubstr(", 100% of "));  // every sample has a stack
    EXPECT_THAT(top.output, HasSubstr("Type: delay"));
    EXPECT_EQ(pprof_total(top.output), p.block_totals().delay_ns) << top.output;
    EXPECT_THAT(top.output, HasSubstr("runtime.chanrecv1"));
    EXPECT_THAT(top.output, HasSubstr("sync.(*WaitGroup).Wait"));
    EXPECT_THAT(top.output, HasSubstr("sync.(*Mutex).Lock (inline)"));
    EXPECT_THAT(top.output, Not(HasSubstr("gopark")));
    auto count = testing::go_tool_pprof(tc, "-top -sample_index=contentions", block.string());
    ASSERT_EQ(count.exit_code, 0) << count.output;
    EXPECT_THAT(count.output, HasSubstr(", 100% of "));  // every sample has a stack
    EXPECT_EQ(pprof_total(count.output), static_cast<int64_t>(p.block_totals().count)) << count.output;
    auto lines = testing::go_tool_pprof(tc, "-top -lines", block.string());
    ASSERT_EQ(lines.exit_code, 0) << lines.output;
    EXPECT_THAT(lines.output, HasSubstr("main.main ")) << lines.output;
    EXPECT_THAT(lines.output, HasSubstr(file + std::to_string(stream.recv_line)));
    EXPECT_THAT(lines.output, HasSubstr(file + std::to_string(stream.wait_line)));
    EXPECT_THAT(lines.output, HasSubstr(file + std::to_string(stream.lock_line)));
    auto traces = testing::go_tool_pprof(tc, "-traces", block.string());
    ASSERT_EQ(traces.exit_code, 0) << traces.output;
    EXPECT_THAT(traces.output, HasSubstr("      goid:  1\n"
                                         "wait_reason:  chan receive\n"
                                         "       5ms   runtime.chanrecv1\n"
                                         "             main.main\n"
                                         "             runtime.main\n"))
        << traces.output;
    EXPECT_THAT(traces.output, Not(HasSubstr("sleep")));

    // Mutex: the gate wait charged to main's Unlock, the spin to the spinner's Lock.
    auto mtop = testing::go_tool_pprof(tc, "-top", mutex.string());
    ASSERT_EQ(mtop.exit_code, 0) << mtop.output;
    EXPECT_THAT(mtop.output, HasSubstr(", 100% of "));  // every sample has a stack
    EXPECT_EQ(p.mutex_totals(), (BlockingProfiles::Totals{2, 9 * kMs + 200 * kUs}));
    EXPECT_EQ(pprof_total(mtop.output), p.mutex_totals().delay_ns) << mtop.output;
    auto mcount = testing::go_tool_pprof(tc, "-top -sample_index=contentions", mutex.string());
    ASSERT_EQ(mcount.exit_code, 0) << mcount.output;
    EXPECT_THAT(mcount.output, HasSubstr(", 100% of "));  // every sample has a stack
    EXPECT_EQ(pprof_total(mcount.output), static_cast<int64_t>(p.mutex_totals().count)) << mcount.output;
    auto mtraces = testing::go_tool_pprof(tc, "-traces", mutex.string());
    ASSERT_EQ(mtraces.exit_code, 0) << mtraces.output;
    EXPECT_THAT(mtraces.output, HasSubstr("      goid:  1001\n"
                                          "charged_to:  unlocker\n"
                                          "wait_reason:  " +
                                          stream.mutex_reason() +
                                          "\n"
                                          "       9ms   sync.(*Mutex).Unlock (inline)\n"
                                          "             main.main\n"))
        << mtraces.output;
    EXPECT_THAT(mtraces.output, HasSubstr("      goid:  8\n"
                                          "charged_to:  waiter\n"
                                          "wait_reason:  sync.Mutex.Lock\n"
                                          "     200us   sync.(*Mutex).Lock (inline)\n"
                                          "             main.main.func1\n"))
        << mtraces.output;
    auto mlines = testing::go_tool_pprof(tc, "-top -lines", mutex.string());
    ASSERT_EQ(mlines.exit_code, 0) << mlines.output;
    EXPECT_THAT(mlines.output, HasSubstr(file + std::to_string(stream.unlock_line)));

    // Goroutines: every live one of the program (not the GC worker): 1, 5, 6 (the sleeper
    // ran again), 7, 8, 105, 1001.
    auto gtop = testing::go_tool_pprof(tc, "-top", goroutines.string());
    ASSERT_EQ(gtop.exit_code, 0) << gtop.output;
    EXPECT_THAT(gtop.output, HasSubstr(", 100% of "));  // every sample has a stack
    EXPECT_THAT(gtop.output, HasSubstr("Type: goroutine"));
    EXPECT_EQ(pprof_total(gtop.output), 7) << gtop.output;
    auto gtraces = testing::go_tool_pprof(tc, "-traces", goroutines.string());
    ASSERT_EQ(gtraces.exit_code, 0) << gtraces.output;
    EXPECT_THAT(gtraces.output, HasSubstr("      goid:  1\n"
                                          "wait_reason:  " +
                                          stream.wait_group_reason() +
                                          "\n"
                                          "         1   runtime.gopark\n"
                                          "             runtime.semacquire1\n"
                                          "             sync.(*WaitGroup).Wait\n"
                                          "             main.main\n"))
        << gtraces.output;
    EXPECT_THAT(gtraces.output, Not(HasSubstr("gcBgMarkWorker")));
    auto glines = testing::go_tool_pprof(tc, "-top -lines", goroutines.string());
    ASSERT_EQ(glines.exit_code, 0) << glines.output;
    EXPECT_THAT(glines.output, HasSubstr(file + std::to_string(stream.wait_line)));
  }
}

TEST(OutputProfilesGoTool, GoroutineEntriesWithoutStacks) {
  // As `dump --pprof` writes them: a goroutine whose stack could not be read has
  // none; one that has not run yet stands at its creation site.
  GS_REQUIRE_TESTPROGS();
  const auto& tc = testing::toolchains().back();
  Stream stream(tc.version);
  ASSERT_TRUE(stream.ok());
  const int go_line = stream.s.source_line(R"(^\t\tgo func\(\) \{$)");
  const std::vector<GoroutineEntry> entries = {
      {1, "chan receive", stream.recv, 0},
      {2, "running", 0, 0},
      {3, "runnable", 0, stream.s.call_at("main.main", go_line)},
  };
  const fs::path file = fs::path(testing::scratch_dir()) / "entries.pb.gz";
  auto written = write_goroutine_profile(file.string(), entries, stream.context(), kT0);
  ASSERT_TRUE(written) << written.error().message;
  auto top = testing::go_tool_pprof(tc, "-top", file.string());
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_EQ(pprof_total(top.output), 3) << top.output;
  auto traces = testing::go_tool_pprof(tc, "-traces", file.string());
  ASSERT_EQ(traces.exit_code, 0) << traces.output;
  EXPECT_THAT(traces.output, HasSubstr("      goid:  3\n"
                                       "wait_reason:  runnable\n"
                                       "         1   main.main\n"))
      << traces.output;
  // Counted, but pprof shows no trace without a location.
  EXPECT_THAT(top.output, HasSubstr(", 66.67% of 3 total"));
  EXPECT_THAT(traces.output, Not(HasSubstr("goid:  2\n")));
  auto lines = testing::go_tool_pprof(tc, "-top -lines", file.string());
  ASSERT_EQ(lines.exit_code, 0) << lines.output;
  EXPECT_THAT(lines.output, HasSubstr("mutex_contention/main.go:" + std::to_string(go_line)));
}

}  // namespace
}  // namespace goscope::output
