// The deadlock / leak detector fed synthetic event streams whose stacks are real
// addresses of the bug programs (Go 1.22), with a table for the reachability
// oracle: every pattern of the issue, and the healthy look-alikes that must not
// raise anything.
#include "detect/deadlock.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "synthetic_events.h"
#include "table_oracle.h"
#include "testprogs.h"

namespace goscope::detect {
namespace {

using goscope::testing::SyntheticEvents;
using goscope::testing::TableOracle;
using model::Event;
using model::EventKind;
using model::ObjectKind;
using model::ObjectRef;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000 * kMs;
constexpr int64_t kT0 = 100 * kS;
constexpr uint64_t kA = 0x5a4f20;
constexpr uint64_t kB = 0x5a4f28;
constexpr uint64_t kC1 = 0xc000020060;
constexpr uint64_t kC2 = 0xc0000200c0;
constexpr uint64_t kWg = 0xc000012340;

class Detect : public ::testing::Test {
 protected:
  void open(const std::string& prog) {
    s = std::make_unique<SyntheticEvents>(prog);
    ASSERT_TRUE(s->ok());
    symbols = std::make_shared<state::StackSymbolizer>(*s->binary, s->stacks);
    model = std::make_unique<state::StateModel>(symbols);
    sites = std::make_unique<LockSites>(symbols->code());
  }
  void SetUp() override { GS_REQUIRE_TESTPROGS(); }

  void park(uint64_t goid, int64_t t, model::StackId stack, const std::string& reason,
            std::vector<ObjectRef> objects) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, stack);
    e.wait_reason = s->reason(reason);
    e.objects = std::move(objects);
    model->apply(e);
  }
  void lock(uint64_t goid, int64_t t, uint64_t mutex, EventKind kind = EventKind::kMutexLock,
            ObjectKind object_kind = ObjectKind::kMutex) {
    Event e = SyntheticEvents::event(kind, goid, t);
    e.object = mutex;
    e.object_kind = object_kind;
    model->apply(e);
  }
  void run(uint64_t goid, int64_t t) {  // any event of its own: it is running
    Event e = SyntheticEvents::event(EventKind::kChanSend, goid, t);
    model->apply(e);
  }
  std::vector<Finding> detect(int64_t now, DeadlockOptions opt = {}, ReachabilityOracle* oracle = nullptr,
                              bool with_sites = true) {
    detector =
        std::make_unique<DeadlockDetector>(*model, s->info, with_sites ? sites.get() : nullptr, oracle);
    return detector->detect(now, opt);
  }

  // bug_abba: a goroutine in lockBoth parked in the Mutex slow path of its second Lock
  // (holding the first), or of its first (holding nothing yet); main asleep.
  model::StackId abba_lock_stack(bool second = true) {
    const int line = s->source_line(second ? R"(^\s*second\.Lock\(\))" : R"(^\s*first\.Lock\(\))");
    return s->stack({s->entry("runtime.gopark"), s->in("runtime.semacquire1"),
                     s->in("sync.runtime_SemacquireMutex"), s->in("sync.(*Mutex).lockSlow"),
                     s->call_at("main.lockBoth", line), s->in("runtime.goexit")});
  }
  model::StackId main_sleep_stack() {
    return s->stack({s->entry("runtime.gopark"), s->in("time.Sleep"), s->in("main.main"),
                     s->in("runtime.main"), s->in("runtime.goexit")});
  }

  std::unique_ptr<SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> model;
  std::unique_ptr<LockSites> sites;
  std::unique_ptr<DeadlockDetector> detector;
};

void expect_cycle(const Finding& f, std::vector<uint64_t> goids) {
  ASSERT_EQ(f.cycle.size(), goids.size());
  for (size_t i = 0; i < goids.size(); i++) {
    EXPECT_EQ(f.cycle[i].from, goids[i]) << "edge " << i;
    EXPECT_EQ(f.cycle[i].to, goids[(i + 1) % goids.size()]) << "edge " << i;
  }
}

TEST_F(Detect, AbBaWithInferredHoldersIsLikely) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  auto f = detect(kT0 + 5 * kS);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kMutexDeadlock);
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_EQ(f[0].confidence, Confidence::kLikely);
  EXPECT_NE(f[0].confidence_reason.find("inferred"), std::string::npos);
  expect_cycle(f[0], {7, 8});
  EXPECT_EQ(f[0].cycle[0].object, kB);
  EXPECT_EQ(f[0].cycle[1].object, kA);
  ASSERT_EQ(f[0].goroutines.size(), 2u);
  ASSERT_TRUE(f[0].location.has_value());
  EXPECT_EQ(f[0].location->function, "main.lockBoth");
  EXPECT_NE(f[0].title.find("AB-BA"), std::string::npos);
  for (const auto& o : f[0].objects) EXPECT_TRUE(o.holders_inferred);
}

TEST_F(Detect, AbBaWithTracedHoldersIsCertain) {
  open("bug_abba");
  lock(7, kT0 - kS, kA);
  lock(8, kT0 - kS, kB);
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  DeadlockOptions opt;
  opt.holders_traced = true;
  auto f = detect(kT0 + 5 * kS, opt);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].confidence, Confidence::kCertain);
  expect_cycle(f[0], {7, 8});
  // Reported once: the key is the same on the next tick.
  auto again = detect(kT0 + 6 * kS, opt);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, f[0].key);
  // Across runs goroutine ids and addresses change; the fingerprint names only rule and sites.
  EXPECT_EQ(f[0].fingerprint.find("0x"), std::string::npos) << f[0].fingerprint;
  EXPECT_NE(f[0].fingerprint.find("GS101:main.lockBoth@"), std::string::npos) << f[0].fingerprint;
}

TEST_F(Detect, NotBlockedLongEnoughIsNotADeadlock) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  EXPECT_TRUE(detect(kT0 + 2 * kS).empty());  // default threshold 3s
  DeadlockOptions opt;
  opt.min_blocked_ns = 0;
  EXPECT_EQ(detect(kT0 + 2 * kS, opt).size(), 1u);
}

TEST_F(Detect, MutexWaitWithARunningPossibleHolderIsHealthy) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  run(9, kT0 + kS);  // running: could hold either lock
  EXPECT_TRUE(detect(kT0 + 5 * kS).empty());
  // Traced holders make the running goroutine irrelevant.
  open("bug_abba");
  lock(7, kT0 - kS, kA);
  lock(8, kT0 - kS, kB);
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  run(9, kT0 + kS);
  DeadlockOptions opt;
  opt.holders_traced = true;
  EXPECT_EQ(detect(kT0 + 5 * kS, opt).size(), 1u);
}

TEST_F(Detect, TracedHolderOutsideTheSetEndsTheWait) {
  open("bug_abba");
  lock(9, kT0 - kS, kB);  // goroutine 9 holds B and sleeps: it will unlock
  park(9, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  DeadlockOptions opt;
  opt.holders_traced = true;
  EXPECT_TRUE(detect(kT0 + 5 * kS, opt).empty());
}

TEST_F(Detect, NoLockSitesMeansNoVerdict) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, nullptr, /*with_sites=*/false).empty());
}

TEST_F(Detect, WaitersBehindACycleArePartOfIt) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  park(9, kT0, abba_lock_stack(/*second=*/false), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  auto f = detect(kT0 + 5 * kS);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kMutexDeadlock);
  expect_cycle(f[0], {7, 8});
  ASSERT_EQ(f[0].goroutines.size(), 3u);
  EXPECT_EQ(f[0].goroutines[2].goid, 9u);
  EXPECT_TRUE(f[0].goroutines[2].holds.empty()) << "blocked in its first Lock: holds nothing";
}

TEST_F(Detect, BlockedInTheFirstLockHoldsNothing) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(7, kT0, abba_lock_stack(/*second=*/false), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
  park(8, kT0, abba_lock_stack(/*second=*/false), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
  // Nobody is seen holding A or B: whoever does left no trace (no verdict).
  EXPECT_TRUE(detect(kT0 + 5 * kS).empty());
}

// --- channels -------------------------------------------------------------

class DetectChannels : public Detect {
 protected:
  void SetUp() override {
    Detect::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    open("bug_chancycle");
    park(1, kT0, main_sleep_stack(), "sleep", {});
  }
  model::StackId send_stack(const std::string& fn) {
    return s->stack(
        {s->entry("runtime.gopark"), s->in("runtime.chansend1"), s->in(fn), s->in("runtime.goexit")});
  }
};

TEST_F(DetectChannels, CycleOfSendsIsAChannelDeadlock) {
  park(7, kT0, send_stack("main.main.func1"), "chan send", {{kC1, ObjectKind::kChannel, 0}});
  park(8, kT0, send_stack("main.main.func2"), "chan send", {{kC2, ObjectKind::kChannel, 0}});
  TableOracle oracle;
  oracle.from_goroutine[7] = {kC1, kC2};  // each holds both channels (its closure)
  oracle.from_goroutine[8] = {kC1, kC2};
  auto f = detect(kT0 + 5 * kS, {}, &oracle);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kChannelDeadlock);
  EXPECT_EQ(f[0].confidence, Confidence::kCertain);
  expect_cycle(f[0], {7, 8});
  EXPECT_EQ(f[0].cycle[0].object, kC1);
}

TEST_F(DetectChannels, ChannelSomeoneElseCanReachIsHealthy) {
  park(7, kT0, send_stack("main.main.func1"), "chan send", {{kC1, ObjectKind::kChannel, 0}});
  park(8, kT0, send_stack("main.main.func2"), "chan send", {{kC2, ObjectKind::kChannel, 0}});
  TableOracle oracle;
  oracle.from_goroutine[7] = {kC1, kC2};
  oracle.from_goroutine[8] = {kC1, kC2};
  oracle.from_goroutine[1] = {kC1};  // main can still receive from c1: x can go on, then y
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, &oracle).empty());
  oracle.from_goroutine[1].clear();
  oracle.from_globals = {kC2};  // a global refers to c2
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, &oracle).empty());
}

TEST_F(DetectChannels, UnknownReachabilityIsNoVerdictButANote) {
  park(7, kT0, send_stack("main.main.func1"), "chan send", {{kC1, ObjectKind::kChannel, 0}});
  TableOracle oracle;
  oracle.known = false;
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, &oracle).empty());
  ASSERT_EQ(detector->notes().size(), 1u);
  EXPECT_NE(detector->notes()[0].find("the test says so"), std::string::npos);
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, nullptr).empty());
}

TEST_F(DetectChannels, AbandonedChannelsAreOneLeakPerSite) {
  for (uint64_t g : {11, 12, 13})
    park(g, kT0, send_stack("main.main.func1"), "chan send", {{kC1 + g * 0x100, ObjectKind::kChannel, 0}});
  TableOracle oracle;
  for (uint64_t g : {11, 12, 13}) oracle.from_goroutine[g] = {kC1 + g * 0x100};  // only its own stack
  auto f = detect(kT0 + 5 * kS, {}, &oracle);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kGoroutineLeak);
  ASSERT_EQ(f[0].goroutines.size(), 3u);
  EXPECT_EQ(f[0].goroutines[0].goid, 11u);
  EXPECT_EQ(f[0].objects.size(), 3u);
  EXPECT_TRUE(f[0].cycle.empty());
  EXPECT_NE(f[0].title.find("3 goroutines"), std::string::npos);
}

// Judged live once a second: goroutines that block a few ms apart can straddle the
// moment they become old enough, so the first verdict at a site may name only some of
// them. The later, fuller verdict has the same key and must not be dropped.
TEST_F(DetectChannels, ALeakJudgedAgainGrowsItsFindingInsteadOfBeingDropped) {
  TableOracle oracle;
  for (uint64_t g : {11, 12, 13}) oracle.from_goroutine[g] = {kC1 + g * 0x100};
  DeadlockOptions opt;
  opt.min_blocked_ns = 1 * kS;
  for (uint64_t g : {11, 12})
    park(g, kT0, send_stack("main.main.func1"), "chan send", {{kC1 + g * 0x100, ObjectKind::kChannel, 0}});
  park(13, kT0 + 5 * kMs, send_stack("main.main.func1"), "chan send", {{kC1 + 13 * 0x100, ObjectKind::kChannel, 0}});
  std::vector<Finding> known;
  auto first = detect(kT0 + 1 * kS + 2 * kMs, opt, &oracle);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].goroutines.size(), 2u);
  EXPECT_TRUE(record_finding(known, first[0]));  // reported live now
  auto second = detect(kT0 + 2 * kS, opt, &oracle);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].goroutines.size(), 3u);
  EXPECT_EQ(second[0].key, first[0].key);
  EXPECT_FALSE(record_finding(known, second[0]));  // the same leak: not reported twice...
  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].goroutines.size(), 3u);  // ...but the end names every goroutine
  EXPECT_EQ(known[0].objects.size(), 3u);
  EXPECT_NE(known[0].title.find("3 goroutines"), std::string::npos) << known[0].title;
  EXPECT_NE(known[0].message.find("goroutine 13 waits on"), std::string::npos) << known[0].message;

  // A later verdict that misses one (read while it was being woken, say) loses nothing.
  EXPECT_FALSE(record_finding(known, first[0]));
  EXPECT_EQ(known[0].goroutines.size(), 3u);
  Finding only13 = second[0];
  std::erase_if(only13.goroutines, [](const FindingGoroutine& g) { return g.goid != 13; });
  Finding from_12 = first[0];
  std::erase_if(from_12.goroutines, [](const FindingGoroutine& g) { return g.goid != 12; });
  std::vector<Finding> known2{from_12};
  EXPECT_FALSE(record_finding(known2, only13));
  ASSERT_EQ(known2[0].goroutines.size(), 2u);
  EXPECT_EQ(known2[0].goroutines[0].goid, 13u);
  EXPECT_EQ(known2[0].goroutines[1].goid, 12u);
  EXPECT_NE(known2[0].message.find("goroutine 12 waits on"), std::string::npos) << known2[0].message;
  EXPECT_NE(known2[0].title.find("2 goroutines"), std::string::npos) << known2[0].title;
}

TEST_F(DetectChannels, TimerChannelsAndClosedChannelsAreNeverSuspects) {
  // A channel made by the time package: a timer will send.
  Event make = SyntheticEvents::event(EventKind::kChanMake, 1, kT0 - kS,
                                      s->stack({s->in("runtime.makechan"), s->in("time.Sleep")}));
  make.object = kC1;
  make.value = 1;
  model->apply(make);
  park(7, kT0, send_stack("main.main.func1"), "chan receive", {{kC1, ObjectKind::kChannel, 0}});
  TableOracle oracle;
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, &oracle).empty());
}

TEST_F(DetectChannels, NilChannelIsAlwaysALeak) {
  park(7, kT0, send_stack("main.main.func1"), "chan send (nil chan)", {});
  TableOracle oracle;
  auto f = detect(kT0 + 5 * kS, {}, &oracle);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kGoroutineLeak);
  EXPECT_NE(f[0].message.find("nil channel"), std::string::npos);
}

TEST_F(DetectChannels, AllAsleepAtExitNeedsNoMemory) {
  park(1, kT0, send_stack("main.main"), "chan send", {{kC1, ObjectKind::kChannel, 0}});
  park(7, kT0, send_stack("main.main.func1"), "chan receive", {{kC2, ObjectKind::kChannel, 0}});
  DeadlockOptions opt;
  opt.target_exited = true;
  opt.min_blocked_ns = 0;
  auto f = detect(kT0 + kMs, opt);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kAllAsleep);
  EXPECT_EQ(f[0].goroutines.size(), 2u);
  // One goroutine still running at the end: not all asleep, and nothing else is judged.
  run(9, kT0 + kMs);
  EXPECT_TRUE(detect(kT0 + kMs, opt).empty());
}

TEST_F(DetectChannels, ConfirmSnapshotDropsGoroutinesThatMovedOn) {
  park(7, kT0, send_stack("main.main.func1"), "chan send", {{kC1, ObjectKind::kChannel, 0}});
  TableOracle oracle;
  oracle.from_goroutine[7] = {kC1};
  model::ProcessSnapshot snap;
  model::GoroutineSnapshot g;
  g.goid = 7;
  g.status = static_cast<uint32_t>(model::GStatus::kRunnable);
  snap.goroutines.push_back(g);
  DeadlockOptions opt;
  opt.confirm = &snap;
  EXPECT_TRUE(detect(kT0 + 5 * kS, opt, &oracle).empty());
  snap.goroutines[0].status = static_cast<uint32_t>(model::GStatus::kWaiting);
  snap.goroutines[0].wait_reason = s->reason("chan send");
  EXPECT_EQ(detect(kT0 + 5 * kS, opt, &oracle).size(), 1u);
}

// --- WaitGroup, Cond, RWMutex -----------------------------------------------

TEST_F(Detect, WaitGroupNobodyCanReachNeverReachesZero) {
  open("bug_wgnever");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  const auto wait =
      s->stack({s->entry("runtime.gopark"), s->in("runtime.semacquire1"), s->in("sync.runtime_Semacquire"),
                s->in("sync.(*WaitGroup).Wait"), s->in("main.main.func2"), s->in("runtime.goexit")});
  park(9, kT0, wait, "semacquire", {{kWg, ObjectKind::kWaitGroup, 0}});
  TableOracle oracle;
  oracle.from_goroutine[9] = {kWg};
  oracle.words[kWg] = uint64_t{1} << 32 | 1;  // counter 1, one waiter
  auto f = detect(kT0 + 5 * kS, {}, &oracle);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kWaitGroupDeadlock);
  ASSERT_EQ(f[0].objects.size(), 1u);
  EXPECT_EQ(f[0].objects[0].detail, "counter 1");
  // A worker that still references it could call Done.
  oracle.from_goroutine[3] = {kWg};
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, &oracle).empty());
}

TEST_F(Detect, CondNobodyCanSignal) {
  open("waitgroup_cond");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  const uint64_t cond = 0xc000014400;
  const auto wait = s->stack({s->entry("runtime.gopark"), s->in("sync.runtime_notifyListWait"),
                              s->in("sync.(*Cond).Wait"), s->in("main.main.func2"), s->in("runtime.goexit")});
  park(5, kT0, wait, "sync.Cond.Wait", {{cond, ObjectKind::kCond, 0}});
  TableOracle oracle;
  auto f = detect(kT0 + 5 * kS, {}, &oracle);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, Rule::kCondDeadlock);
  oracle.from_globals = {cond};
  EXPECT_TRUE(detect(kT0 + 5 * kS, {}, &oracle).empty());
}

TEST_F(Detect, RecursiveReadLockWithAPendingWriter) {
  const uint64_t rw = 0x5b0000;
  for (bool traced : {false, true}) {
    open("bug_rlock_recursive");
    park(1, kT0, main_sleep_stack(), "sleep", {});
    if (traced) lock(6, kT0 - kS, rw, EventKind::kRLock, ObjectKind::kRWMutex);  // its first read lock
    const auto reader = s->stack(
        {s->entry("runtime.gopark"), s->in("runtime.semacquire1"), s->in("sync.runtime_SemacquireRWMutexR"),
         s->call_at("main.main.func1", s->source_line(R"(rw\.RLock\(\) // never returns)")),
         s->in("runtime.goexit")});
    const auto writer = s->stack({s->entry("runtime.gopark"), s->in("runtime.semacquire1"),
                                  s->in("sync.runtime_SemacquireRWMutex"), s->in("sync.(*RWMutex).Lock"),
                                  s->in("main.main.func2"), s->in("runtime.goexit")});
    park(6, kT0, reader, "sync.RWMutex.RLock", {{rw, ObjectKind::kRWMutex, model::kReaderRole}});
    park(7, kT0, writer, "sync.RWMutex.Lock", {{rw, ObjectKind::kRWMutex, model::kWriterRole}});
    DeadlockOptions opt;
    opt.holders_traced = traced;
    auto f = detect(kT0 + 5 * kS, opt);
    ASSERT_EQ(f.size(), 1u) << "traced " << traced;
    EXPECT_EQ(f[0].rule, Rule::kRecursiveRLock);
    EXPECT_EQ(f[0].confidence, traced ? Confidence::kCertain : Confidence::kLikely);
    expect_cycle(f[0], {6, 7});
  }
}

TEST_F(Detect, RuntimeGoroutinesAndSleepersAreNeverPartOfIt) {
  open("bug_abba");
  park(1, kT0, main_sleep_stack(), "sleep", {});
  park(2, kT0, main_sleep_stack(), "sleep", {});
  DeadlockOptions opt;
  opt.min_blocked_ns = 0;
  EXPECT_TRUE(detect(kT0 + 60 * kS, opt).empty());
}

}  // namespace
}  // namespace goscope::detect
