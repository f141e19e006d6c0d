// The findings rules (GS202, GS301-GS304) fed synthetic event streams whose
// stacks are real addresses of the pipeline test program (Go 1.22): for each
// rule a stream that triggers it and a healthy one that must not, with the
// healthy ones checked to have really carried the data the rule looks at.
#include "detect/rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "detect/locations.h"
#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::detect {
namespace {

using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::GStatus;
using model::ObjectKind;

constexpr uint64_t kChan = 0xc000020060;
constexpr uint64_t kMutex = 0xc0000180a0;
constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 5'000 * kMs;

std::vector<Finding> of_rule(const std::vector<Finding>& findings, Rule rule) {
  std::vector<Finding> out;
  for (const Finding& f : findings)
    if (f.rule == rule) out.push_back(f);
  return out;
}

class DetectRules : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>();
    ASSERT_TRUE(s->ok());
    symbols = std::make_shared<state::StackSymbolizer>(*s->binary, s->stacks);
    model = std::make_unique<state::StateModel>(symbols);
    engine = std::make_unique<RulesEngine>();
    sink_line = s->source_line(R"(^\s*for v := range squares \{)");
    main_recv_line = s->source_line(R"(^\s*sum := <-result$)");
    sink_go_line = s->source_line(R"(^\s*go func\(\) \{ // sink)");
    sink_park = s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv2"),
                          s->call_at("main.main.func4", sink_line), s->in("runtime.goexit")});
    main_park =
        s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv1"),
                  s->call_at("main.main", main_recv_line), s->in("runtime.main"), s->in("runtime.goexit")});
    main_lock = s->stack({s->entry("sync.(*Mutex).lockSlow"), s->call_at("main.main", main_recv_line)});
    sink_lock = s->stack({s->entry("sync.(*Mutex).lockSlow"), s->call_at("main.main.func4", sink_line)});
    sink_go_pc = s->call_at("main.main", sink_go_line);
  }

  void feed(const Event& e) {
    model->apply(e);
    engine->apply(e);
  }
  void use(RuleThresholds t) { engine = std::make_unique<RulesEngine>(t); }
  std::vector<Finding> findings(int64_t now) const { return engine->evaluate(*model, now); }

  Event create(uint64_t goid, uint64_t parent, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kGoCreate, goid, t);
    e.other_goid = parent;
    e.pc = sink_go_pc;
    e.start_pc = s->entry("main.main.func4");
    return e;
  }
  Event park(uint64_t goid, int64_t t, model::StackId stack, const std::string& reason = "chan receive") {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, stack);
    e.wait_reason = s->reason(reason);
    e.objects = {{kChan, ObjectKind::kChannel, 0}};
    e.object = kChan;
    e.object_kind = ObjectKind::kChannel;
    return e;
  }
  Event ready(uint64_t waker, uint64_t wakee, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kReady, waker, t);
    e.other_goid = wakee;
    return e;
  }
  // The return of a blocking receive that began at `begin`.
  Event received(uint64_t goid, int64_t begin, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kChanRecv, goid, t, sink_park);
    e.object = kChan;
    e.object_kind = ObjectKind::kChannel;
    e.flags = model::kBlocking | model::kOk | model::kReceived;
    e.begin_ns = begin;
    return e;
  }
  Event lock(uint64_t goid, int64_t t, int64_t wait, model::StackId stack, uint64_t mutex = kMutex) {
    Event e = SyntheticEvents::event(EventKind::kMutexLock, goid, t, stack);
    e.object = mutex;
    e.object_kind = ObjectKind::kMutex;
    if (wait > 0) {
      e.flags = model::kContended;
      e.begin_ns = t - wait;
    }
    return e;
  }
  Event unlock(uint64_t goid, int64_t t, uint64_t mutex = kMutex) {
    Event e = SyntheticEvents::event(EventKind::kMutexUnlock, goid, t);
    e.object = mutex;
    e.object_kind = ObjectKind::kMutex;
    return e;
  }
  static Event status(uint64_t goid, uint64_t by, GStatus from, GStatus to, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kStatus, goid, t);
    e.other_goid = by;
    e.value = static_cast<int64_t>((uint64_t(from) << 32) | uint64_t(to));
    return e;
  }
  static Event world(bool stop, int64_t t, int64_t reason = 0) {
    Event e = SyntheticEvents::event(stop ? EventKind::kStopTheWorld : EventKind::kStartTheWorld, 1, t);
    e.value = stop ? reason : 0;
    return e;
  }
  // A goroutine parked in a receive at `t`, woken at `t + 1ms`, running `latency` later.
  int64_t wake_up(uint64_t goid, int64_t t, int64_t latency) {
    feed(park(goid, t, sink_park));
    feed(ready(1, goid, t + kMs));
    feed(received(goid, t - 10 * kUs, t + kMs + latency));
    return t + kMs + latency + kMs;
  }

  std::unique_ptr<SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> model;
  std::unique_ptr<RulesEngine> engine;
  int sink_line = 0, main_recv_line = 0, sink_go_line = 0;
  model::StackId sink_park = 0, main_park = 0, main_lock = 0, sink_lock = 0;
  uint64_t sink_go_pc = 0;
};

// ---- GS301 long blocking ----

TEST_F(DetectRules, LongBlockingOnAChannelIsReportedPerSiteAndReason) {
  feed(park(12, kT0, sink_park));
  feed(ready(1, 12, kT0 + 1500 * kMs));
  feed(park(13, kT0 + 100 * kMs, sink_park));  // still blocked at evaluation
  feed(park(1, kT0, main_park));
  feed(ready(14, 1, kT0 + 200 * kMs));  // main blocked only 200 ms

  const auto all = findings(kT0 + 3 * kSec);
  const auto found = of_rule(all, Rule::kLongBlocking);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.confidence, Confidence::kCertain);
  ASSERT_TRUE(f.location);
  EXPECT_EQ(f.location->function, "main.main.func4");
  EXPECT_EQ(f.location->line, sink_line);
  EXPECT_TRUE(f.location->file.ends_with("/pipeline/main.go"));
  // 1.5 s closed, 2.9 s still open.
  EXPECT_EQ(f.metrics.at("count"), 2);
  EXPECT_EQ(f.metrics.at("ongoing"), 1);
  EXPECT_EQ(f.metrics.at("max_ns"), 2900 * kMs);
  EXPECT_EQ(f.metrics.at("total_ns"), 4400 * kMs);
  EXPECT_NE(f.title.find("2.9s"), std::string::npos) << f.title;
  EXPECT_NE(f.title.find("chan receive"), std::string::npos) << f.title;
  EXPECT_NE(f.title.find("main.go:" + std::to_string(sink_line)), std::string::npos) << f.title;
  EXPECT_NE(f.message.find("goroutine 13"), std::string::npos) << f.message;
  ASSERT_EQ(f.goroutines.size(), 1u);
  EXPECT_EQ(f.goroutines[0].goid, 13u);
  EXPECT_EQ(f.goroutines[0].wait_reason, "chan receive");
  EXPECT_EQ(f.goroutines[0].blocked_ns, 2900 * kMs);
  EXPECT_EQ(f.goroutines[0].waits_on, std::vector<uint64_t>{kChan});
  ASSERT_FALSE(f.goroutines[0].stack.empty());
  EXPECT_EQ(f.goroutines[0].stack[0].function, "runtime.gopark");
  EXPECT_EQ(f.since_ns, kT0 + 100 * kMs);
  EXPECT_EQ(f.key,
            "GS301:main.main.func4@" + f.location->file + ":" + std::to_string(sink_line) + ":chan receive");
  EXPECT_FALSE(f.suggestion.empty());
  // Found again later: the same key.
  const auto again = of_rule(findings(kT0 + 4 * kSec), Rule::kLongBlocking);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, f.key);
}

TEST_F(DetectRules, ShortBlockingIdleWaitsAndRuntimeGoroutinesAreNotLongBlocking) {
  // 500 ms on a channel: below long-block.
  feed(park(12, kT0, sink_park));
  feed(ready(1, 12, kT0 + 500 * kMs));
  // Idle by nature, 5 s each: sleep, IO wait, select {} (same site, different reasons).
  feed(park(20, kT0, main_park, "sleep"));
  feed(park(21, kT0, main_park, "IO wait"));
  feed(park(22, kT0, main_park, "select (no cases)"));
  // A runtime goroutine blocked on a channel for 5 s.
  const auto runtime_park =
      s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv1"),
                s->in("runtime.bgsweep"), s->in("runtime.goexit")});
  feed(park(23, kT0, runtime_park));
  const int64_t now = kT0 + 5 * kSec;

  // The model did see those long intervals: the rule had them and left them out.
  const auto sites = model->blocking_by_site(now);
  ASSERT_EQ(sites.size(), 5u);
  EXPECT_EQ(std::count_if(sites.begin(), sites.end(),
                          [](const state::SiteBlocking& b) { return b.totals.max_ns >= kSec; }),
            4);
  EXPECT_TRUE(of_rule(findings(now), Rule::kLongBlocking).empty());

  // With long-block=400ms the channel wait is reported, and only it.
  RuleThresholds t;
  t.long_block_ns = 400 * kMs;
  EXPECT_EQ(RulesEngine(t).evaluate(*model, now).size(), 1u);
  const auto lower = of_rule(RulesEngine(t).evaluate(*model, now), Rule::kLongBlocking);
  ASSERT_EQ(lower.size(), 1u);
  EXPECT_EQ(lower[0].metrics.at("max_ns"), 500 * kMs);
  EXPECT_EQ(lower[0].metrics.at("ongoing"), 0);
}

TEST(DetectRulesReasons, SyncAndChannelWaitsCountIdleOnesDoNot) {
  for (const char* r :
       {"chan receive", "chan send", "chan receive (nil chan)", "select", "sync.Mutex.Lock",
        "sync.RWMutex.RLock", "sync.RWMutex.Lock", "sync.Cond.Wait", "sync.WaitGroup.Wait", "semacquire"})
    EXPECT_TRUE(counts_as_long_blocking(r)) << r;
  for (const char* r : {"", "IO wait", "sleep", "select (no cases)", "timer goroutine (idle)",
                        "GC worker (idle)", "GC sweep wait", "finalizer wait", "force gc (idle)", "preempted",
                        "synctest.Wait", "trace reader (blocked)", "wait for GC cycle"})
    EXPECT_FALSE(counts_as_long_blocking(r)) << r;
}

// ---- GS302 mutex contention ----

TEST_F(DetectRules, MutexContentionPointsAtTheSiteThatWaitedMost) {
  int64_t t = kT0;
  auto locked = [&](uint64_t goid, int64_t wait, model::StackId stack) {
    t += wait + kMs;
    feed(lock(goid, t, wait, stack));
    feed(unlock(goid, t + 100 * kUs));
  };
  locked(3, 0, main_lock);  // uncontended
  locked(3, 0, main_lock);
  locked(7, 40 * kMs, sink_lock);
  locked(8, 45 * kMs, sink_lock);
  locked(9, 30 * kMs, main_lock);
  // 115 ms in total, longest 45 ms: contention-total decides.
  const auto found = of_rule(findings(t + kSec), Rule::kMutexContention);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.key, "GS302:0xc0000180a0");
  EXPECT_EQ(f.severity, Severity::kWarning);
  ASSERT_TRUE(f.location);
  EXPECT_EQ(f.location->function, "main.main.func4");  // 85 ms there, 30 ms in main.main
  EXPECT_EQ(f.location->line, sink_line);
  EXPECT_EQ(f.metrics.at("acquisitions"), 5);
  EXPECT_EQ(f.metrics.at("contended"), 3);
  EXPECT_EQ(f.metrics.at("wait_total_ns"), 115 * kMs);
  EXPECT_EQ(f.metrics.at("wait_max_ns"), 45 * kMs);
  EXPECT_DOUBLE_EQ(f.metrics.at("contended_ratio"), 0.6);
  ASSERT_EQ(f.objects.size(), 1u);
  EXPECT_EQ(f.objects[0].address, kMutex);
  EXPECT_EQ(f.objects[0].name, "sync.Mutex 0xc0000180a0");
  EXPECT_NE(f.title.find("115ms"), std::string::npos) << f.title;
  // Both sites are named, the larger first.
  const size_t sink_at = f.message.find("main.main.func4 (main.go:" + std::to_string(sink_line) + ") 85ms");
  const size_t main_at = f.message.find("main.main (main.go:" + std::to_string(main_recv_line) + ") 30ms");
  EXPECT_NE(sink_at, std::string::npos) << f.message;
  EXPECT_NE(main_at, std::string::npos) << f.message;
  EXPECT_LT(sink_at, main_at);
}

TEST_F(DetectRules, OneLongWaitIsContentionToo) {
  feed(lock(7, kT0 + 60 * kMs, 55 * kMs, main_lock));
  const auto found = of_rule(findings(kT0 + kSec), Rule::kMutexContention);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metrics.at("wait_total_ns"), 55 * kMs);
  ASSERT_TRUE(found[0].location);
  EXPECT_EQ(found[0].location->line, main_recv_line);
}

TEST_F(DetectRules, UncontendedAndBrieflyContendedLocksAreHealthy) {
  int64_t t = kT0;
  for (int i = 0; i < 200; i++) {
    t += kMs;
    feed(lock(3 + i % 4, t, i % 10 == 0 ? 4 * kMs : 0, main_lock));  // 20 waits of 4 ms = 80 ms
    feed(unlock(3 + i % 4, t + 50 * kUs));
  }
  const state::MutexInfo& m = model->mutexes().at(kMutex);
  EXPECT_EQ(m.acquisitions, 200u);
  EXPECT_EQ(m.contended, 20u);
  EXPECT_EQ(m.wait_total_ns, 80 * kMs);
  EXPECT_TRUE(of_rule(findings(t + kSec), Rule::kMutexContention).empty());
  // The same stream against contention-total=50ms is contention.
  RuleThresholds th;
  th.contention_total_ns = 50 * kMs;
  EXPECT_EQ(of_rule(RulesEngine(th).evaluate(*model, t + kSec), Rule::kMutexContention).size(), 1u);
}

// ---- GS303 scheduling latency ----

TEST_F(DetectRules, SchedulingLatencyUpperBoundsFromWakeUpToTheParkedOperationsReturn) {
  int64_t t = kT0;
  for (uint64_t i = 0; i < 20; i++) t = wake_up(100 + i, t, 1 * kMs);
  for (uint64_t i = 0; i < 10; i++) t = wake_up(200 + i, t, 20 * kMs);
  // Woken from a sleep, next seen 300 ms later in an operation begun after the wake-up:
  // that bounds nothing and is not counted.
  for (uint64_t i = 0; i < 3; i++) {
    feed(park(300 + i, t, main_park, "sleep"));
    feed(ready(0, 300 + i, t + kMs));
    feed(received(300 + i, t + 250 * kMs, t + 300 * kMs));
    t += 301 * kMs;
  }
  EXPECT_EQ(engine->bounded_latency().count(), 30u);
  EXPECT_EQ(engine->exact_latency().count(), 0u);

  const auto found = of_rule(findings(t), Rule::kSchedulingLatency);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.key, "GS303");
  EXPECT_EQ(f.metrics.at("samples"), 30);
  EXPECT_EQ(f.metrics.at("exact"), 0);
  EXPECT_EQ(f.metrics.at("skipped"), 3);
  EXPECT_EQ(f.metrics.at("max_ns"), 20 * kMs);
  EXPECT_NEAR(f.metrics.at("p50_ns"), 1 * kMs, kMs / 16);
  EXPECT_NEAR(f.metrics.at("p99_ns"), 20 * kMs, 20 * kMs / 16);
  EXPECT_EQ(f.confidence, Confidence::kLikely);
  EXPECT_FALSE(f.confidence_reason.empty());
  EXPECT_NE(f.message.find("Upper bounds"), std::string::npos) << f.message;
  EXPECT_NE(f.title.find("upper bounds"), std::string::npos) << f.title;
  // The worst wake-up was goroutine 209's (the last 20 ms one).
  ASSERT_EQ(f.goroutines.size(), 1u);
  EXPECT_EQ(f.goroutines[0].goid, 209u);
  EXPECT_FALSE(f.location);  // where it was created: unknown, no go-create was seen
}

TEST_F(DetectRules, SchedulingLatencyNeedsEnoughSamplesAndALongP99) {
  int64_t t = kT0;
  // 40 quick wake-ups (100 µs): healthy.
  for (uint64_t i = 0; i < 40; i++) t = wake_up(100 + i, t, 100 * kUs);
  EXPECT_EQ(engine->bounded_latency().count(), 40u);
  EXPECT_TRUE(of_rule(findings(t), Rule::kSchedulingLatency).empty());

  // 10 slow ones alone are too few to judge.
  use({});
  for (uint64_t i = 0; i < 10; i++) t = wake_up(200 + i, t, 50 * kMs);
  EXPECT_EQ(engine->bounded_latency().count(), 10u);
  EXPECT_TRUE(of_rule(findings(t), Rule::kSchedulingLatency).empty());
  RuleThresholds few;
  few.sched_samples = 10;
  use(few);
  for (uint64_t i = 0; i < 10; i++) t = wake_up(300 + i, t, 50 * kMs);
  EXPECT_EQ(of_rule(findings(t), Rule::kSchedulingLatency).size(), 1u);
}

TEST_F(DetectRules, SchedulingLatencyIsExactWithTheSchedulerView) {
  int64_t t = kT0;
  for (uint64_t i = 0; i < 25; i++) {
    const uint64_t g = 100 + i;
    feed(park(g, t, sink_park));
    feed(status(g, g, GStatus::kRunning, GStatus::kWaiting, t));
    feed(ready(1, g, t + kMs));
    feed(status(g, 1, GStatus::kWaiting, GStatus::kRunnable, t + kMs + kUs));
    // 15 ms later it runs (the scan bit may be set on either status).
    Event run = status(g, g, GStatus::kRunnable, GStatus::kRunning, t + kMs + kUs + 15 * kMs);
    if (i % 2) run.value |= int64_t(model::kGScanBit) << 32;
    feed(run);
    // Its receive returns 1 ms later still: not a second measurement.
    feed(received(g, t - kUs, t + 17 * kMs + kUs));
    t += 20 * kMs;
  }
  // A goroutine preempted (running -> runnable) and rescheduled 30 ms later.
  feed(status(500, 500, GStatus::kRunning, GStatus::kRunnable, t));
  feed(status(500, 500, GStatus::kRunnable, GStatus::kRunning, t + 30 * kMs));
  t += 31 * kMs;

  EXPECT_EQ(engine->exact_latency().count(), 26u);
  EXPECT_EQ(engine->bounded_latency().count(), 0u);
  const auto found = of_rule(findings(t), Rule::kSchedulingLatency);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.metrics.at("exact"), 1);
  EXPECT_EQ(f.metrics.count("skipped"), 0u);
  EXPECT_EQ(f.metrics.at("samples"), 26);
  EXPECT_EQ(f.metrics.at("max_ns"), 30 * kMs);
  EXPECT_NEAR(f.metrics.at("p50_ns"), 15 * kMs, 15 * kMs / 16);
  EXPECT_EQ(f.confidence, Confidence::kCertain);
  EXPECT_NE(f.message.find("Exact"), std::string::npos) << f.message;
  EXPECT_EQ(f.title.find("upper bound"), std::string::npos) << f.title;
  ASSERT_EQ(f.goroutines.size(), 1u);
  EXPECT_EQ(f.goroutines[0].goid, 500u);
}

TEST_F(DetectRules, ExactSchedulingLatencyBelowTheThresholdIsHealthy) {
  int64_t t = kT0;
  for (uint64_t i = 0; i < 30; i++) {
    feed(status(100 + i, 1, GStatus::kWaiting, GStatus::kRunnable, t));
    feed(status(100 + i, 100 + i, GStatus::kRunnable, GStatus::kRunning, t + 2 * kMs));
    t += 5 * kMs;
  }
  EXPECT_EQ(engine->exact_latency().count(), 30u);
  EXPECT_EQ(engine->exact_latency().max(), 2 * kMs);
  EXPECT_TRUE(of_rule(findings(t), Rule::kSchedulingLatency).empty());
}

// ---- GS202 goroutine growth ----

TEST_F(DetectRules, GoroutineGrowthNamesTheGoStatementWithTheMostLiveGoroutines) {
  uint64_t next = 100;
  feed(create(1, 0, kT0));  // main
  for (int sec = 0; sec <= 12; sec++) {
    const int64_t t = kT0 + sec * kSec;
    for (int i = 0; i < 20; i++) feed(create(next++, 1, t + i * kMs));
    engine->sample(t + 500 * kMs, *model);
  }
  const auto found = of_rule(findings(kT0 + 13 * kSec), Rule::kGoroutineGrowth);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.key, "GS202");
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.metrics.at("start"), 21);  // main and the first 20
  EXPECT_EQ(f.metrics.at("end"), 261);
  EXPECT_NEAR(f.metrics.at("slope_per_s"), 20, 1e-6);
  EXPECT_EQ(f.metrics.at("samples"), 13);
  EXPECT_EQ(f.metrics.at("at_site"), 261);  // main was made by the same (synthetic) go statement
  ASSERT_TRUE(f.location);
  EXPECT_EQ(f.location->function, "main.main");
  EXPECT_EQ(f.location->line, sink_go_line);
  EXPECT_EQ(f.since_ns, kT0 + 500 * kMs);
  EXPECT_NE(f.title.find("from 21 to 261"), std::string::npos) << f.title;
}

TEST_F(DetectRules, SteadyChurnShortWindowsAndFallingCountsAreNotGrowth) {
  // Churn: 20 created and 20 exited every second, about 20 alive.
  uint64_t next = 100;
  for (int sec = 0; sec <= 15; sec++) {
    const int64_t t = kT0 + sec * kSec;
    for (int i = 0; i < 20; i++) {
      feed(create(next, 1, t + i * kMs));
      if (next >= 120) feed(SyntheticEvents::event(EventKind::kGoExit, next - 20, t + i * kMs + kUs));
      next++;
    }
    engine->sample(t + 500 * kMs, *model);
  }
  EXPECT_EQ(model->counts().created, 320u);
  EXPECT_EQ(model->counts().exited, 300u);
  EXPECT_TRUE(of_rule(findings(kT0 + 16 * kSec), Rule::kGoroutineGrowth).empty());

  // Fast growth over 4 s only: shorter than growth-window.
  use({});
  for (int sec = 0; sec <= 4; sec++) {
    const int64_t t = kT0 + (20 + sec) * kSec;
    for (int i = 0; i < 100; i++) feed(create(next++, 1, t));
    engine->sample(t, *model);
  }
  EXPECT_TRUE(of_rule(findings(kT0 + 25 * kSec), Rule::kGoroutineGrowth).empty());
  // Seconds later, still growing: now it is.
  for (int sec = 5; sec <= 12; sec++) {
    const int64_t t = kT0 + (20 + sec) * kSec;
    for (int i = 0; i < 100; i++) feed(create(next++, 1, t));
    engine->sample(t, *model);
  }
  EXPECT_EQ(of_rule(findings(kT0 + 33 * kSec), Rule::kGoroutineGrowth).size(), 1u);
  // Then most of them exit: the count fell well below its peak.
  for (uint64_t g = next - 1000; g < next; g++)
    feed(SyntheticEvents::event(EventKind::kGoExit, g, kT0 + 34 * kSec));
  engine->sample(kT0 + 34 * kSec, *model);
  EXPECT_TRUE(of_rule(findings(kT0 + 35 * kSec), Rule::kGoroutineGrowth).empty());
}

// ---- GS304 stop-the-world ----

TEST_F(DetectRules, StopTheWorldLongestPauseAndTotal) {
  int64_t t = kT0;
  for (int i = 0; i < 3; i++) {
    feed(world(true, t, 1));
    feed(world(false, t + 2 * kMs));
    t += kSec;
  }
  EXPECT_TRUE(of_rule(findings(t), Rule::kStopTheWorld).empty());  // 3 × 2 ms: healthy

  feed(world(true, t, 7));
  feed(world(false, t + 15 * kMs));
  const auto found = of_rule(findings(t + kSec), Rule::kStopTheWorld);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.key, "GS304");
  EXPECT_EQ(f.metrics.at("pauses"), 4);
  EXPECT_EQ(f.metrics.at("total_ns"), 21 * kMs);
  EXPECT_EQ(f.metrics.at("max_ns"), 15 * kMs);
  EXPECT_NE(f.message.find("1: 3 pauses, 6ms, longest 2ms"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("7: 1 pause, 15ms"), std::string::npos) << f.message;
  EXPECT_NE(f.title.find("15ms"), std::string::npos) << f.title;
}

TEST_F(DetectRules, ManyShortPausesAddUpAndAnOngoingPauseCounts) {
  int64_t t = kT0;
  for (int i = 0; i < 60; i++) {
    feed(world(true, t, -1));
    feed(world(false, t + 2 * kMs));
    t += 100 * kMs;
  }
  const auto found = of_rule(findings(t), Rule::kStopTheWorld);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metrics.at("total_ns"), 120 * kMs);
  EXPECT_EQ(found[0].metrics.at("max_ns"), 2 * kMs);
  EXPECT_NE(found[0].message.find("unknown: 60 pauses"), std::string::npos) << found[0].message;

  use({});
  feed(world(false, t));  // a start without its stop: nothing
  feed(world(true, t + kMs, 2));
  EXPECT_TRUE(of_rule(findings(t + 3 * kMs), Rule::kStopTheWorld).empty());
  const auto ongoing = of_rule(findings(t + 20 * kMs), Rule::kStopTheWorld);
  ASSERT_EQ(ongoing.size(), 1u);
  EXPECT_EQ(ongoing[0].metrics.at("max_ns"), 19 * kMs);
  EXPECT_NE(ongoing[0].message.find("still stopped"), std::string::npos);
}

// ---- everything healthy at once ----

TEST_F(DetectRules, AHealthyStreamHasNoFindings) {
  int64_t t = kT0;
  uint64_t next = 100;
  for (int sec = 0; sec < 12; sec++) {
    for (int i = 0; i < 10; i++) {
      const uint64_t g = next++;
      feed(create(g, 1, t));
      t = wake_up(g, t, 200 * kUs);
      feed(lock(g, t, i == 0 ? kMs : 0, main_lock));
      feed(unlock(g, t + 10 * kUs));
      feed(SyntheticEvents::event(EventKind::kGoExit, g, t + 20 * kUs));
    }
    feed(world(true, t, 1));
    feed(world(false, t + 300 * kUs));
    t = kT0 + (sec + 1) * kSec;
    engine->sample(t, *model);
  }
  // Everything each rule reads was there.
  EXPECT_EQ(engine->bounded_latency().count(), 120u);
  EXPECT_EQ(model->mutexes().at(kMutex).contended, 12u);
  EXPECT_EQ(model->counts().created, 120u);
  EXPECT_FALSE(model->blocking_by_site(t).empty());
  const auto all = findings(t);
  EXPECT_TRUE(all.empty()) << all.front().title;
}

// ---- thresholds ----

TEST(DetectRulesThresholds, DefaultsAndParsing) {
  const RuleThresholds d;
  EXPECT_EQ(d.long_block_ns, 1'000'000'000);
  EXPECT_EQ(d.contention_total_ns, 100'000'000);
  EXPECT_EQ(d.contention_max_ns, 50'000'000);
  EXPECT_EQ(d.sched_latency_ns, 10'000'000);
  EXPECT_EQ(d.sched_samples, 20u);
  EXPECT_EQ(d.growth_window_ns, 10'000'000'000);
  EXPECT_EQ(d.growth_rate_per_s, 1.0);
  EXPECT_EQ(d.growth_min, 100u);
  EXPECT_EQ(d.stw_max_ns, 10'000'000);
  EXPECT_EQ(d.stw_total_ns, 100'000'000);

  const std::vector<std::string> specs = {"long-block=2s",       "contention-total=250ms, stw-max=20ms",
                                          "sched-latency=500us", "growth-rate=2/s",
                                          "growth-min=50",       "sched-samples=100",
                                          "growth-window=1m",    "contention-max=1.5",
                                          "stw-total=1s",        "long-block=3s"};
  auto t = parse_thresholds(specs);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->long_block_ns, 3'000'000'000);  // the last one wins
  EXPECT_EQ(t->contention_total_ns, 250'000'000);
  EXPECT_EQ(t->contention_max_ns, 1'500'000'000);
  EXPECT_EQ(t->stw_max_ns, 20'000'000);
  EXPECT_EQ(t->stw_total_ns, 1'000'000'000);
  EXPECT_EQ(t->sched_latency_ns, 500'000);
  EXPECT_EQ(t->sched_samples, 100u);
  EXPECT_EQ(t->growth_rate_per_s, 2.0);
  EXPECT_EQ(t->growth_min, 50u);
  EXPECT_EQ(t->growth_window_ns, 60'000'000'000);

  // Over a base; nothing given changes nothing.
  RuleThresholds base;
  base.growth_min = 7;
  const std::vector<std::string> one = {"growth-rate=0.5"};
  auto b = parse_thresholds(one, base);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->growth_min, 7u);
  EXPECT_EQ(b->growth_rate_per_s, 0.5);
  auto none = parse_thresholds({});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->long_block_ns, d.long_block_ns);

  const std::string help = thresholds_help();
  EXPECT_NE(help.find("long-block=1s"), std::string::npos) << help;
  EXPECT_NE(help.find("contention-total=100ms"), std::string::npos) << help;
  EXPECT_NE(help.find("growth-rate=1 "), std::string::npos) << help;
  EXPECT_NE(help.find("growth-window=10s"), std::string::npos) << help;
}

TEST(DetectRulesThresholds, ErrorsSayWhatIsWrong) {
  struct Case {
    const char* spec;
    const char* says;
  };
  for (const Case& c :
       {Case{"long-blok=2s", "unknown threshold 'long-blok': known are long-block, "},
        Case{"long-block", "KEY=VALUE"}, Case{"long-block=2x", "threshold long-block: invalid duration unit"},
        Case{"stw-max=", "threshold stw-max: invalid duration"},
        Case{"stw-max=-1s", "threshold stw-max: invalid duration"}, Case{"sched-latency=0s", "out of range"},
        Case{"growth-min=0", "threshold growth-min: invalid count '0'"},
        Case{"sched-samples=1.5", "invalid count"},
        Case{"growth-rate=-1", "threshold growth-rate: invalid rate '-1'"},
        Case{"growth-rate=fast", "invalid rate"}, Case{"growth-rate=0", "invalid rate"}}) {
    const std::vector<std::string> specs = {"long-block=2s", c.spec};
    auto t = parse_thresholds(specs);
    ASSERT_FALSE(t) << c.spec;
    EXPECT_NE(t.error().message.find(c.says), std::string::npos) << c.spec << ": " << t.error().message;
  }
}

// ---- helpers ----

TEST(DetectRulesHistogram, QuantilesWithinASixteenth) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.99), 0);
  for (int64_t v = 0; v < 8; v++) h.add(v);  // small values are exact
  EXPECT_EQ(h.quantile(0.5), 3);
  EXPECT_EQ(h.quantile(1), 7);
  LatencyHistogram big;
  for (int i = 1; i <= 1000; i++) big.add(i * kUs);  // 1 µs .. 1 ms
  EXPECT_EQ(big.count(), 1000u);
  EXPECT_EQ(big.max(), kMs);
  EXPECT_NEAR(big.quantile(0.5), 500 * kUs, 500 * kUs / 16);
  EXPECT_NEAR(big.quantile(0.99), 990 * kUs, 990 * kUs / 16);
  EXPECT_LE(big.quantile(1), kMs);
  big.add(-5);  // clamped at zero
  EXPECT_EQ(big.count(), 1001u);
  EXPECT_EQ(big.quantile(0.0001), 0);
}

TEST_F(DetectRules, LocationsCopyTheSymbolizedFrames) {
  const state::SymbolizedStack& stack = symbols->stack(sink_park);
  ASSERT_EQ(stack.site, 3);
  const Location site = to_location(stack.frames[3]);
  EXPECT_EQ(site.function, "main.main.func4");
  EXPECT_EQ(site.line, sink_line);
  EXPECT_TRUE(site.file.ends_with("/pipeline/main.go"));
  EXPECT_EQ(site.pc, s->call_at("main.main.func4", sink_line));
  EXPECT_TRUE(site.known());
  const auto two = to_locations(stack, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].function, "runtime.gopark");
  EXPECT_EQ(two[1].function, "runtime.chanrecv");
  EXPECT_EQ(to_locations(stack, 100).size(), stack.frames.size());
  EXPECT_FALSE(to_location(state::CodeFrame{}).known());
}

}  // namespace
}  // namespace goscope::detect
