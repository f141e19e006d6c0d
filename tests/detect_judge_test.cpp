// The judging policy (detect/judge.h) with a fake process and a fake pause: when
// live suspects are judged and how often again, what a look that fails says, the
// second look of a dump, a replay that adopts, and the rule table's facts.
#include "detect/judge.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <set>

#include "synthetic_events.h"
#include "fake_process.h"
#include "testprogs.h"

namespace goscope::detect {
namespace {

using goscope::testing::SyntheticEvents;
using goscope::testing::FakeProcess;
using goscope::testing::TableOracle;
using model::Event;
using model::EventKind;
using model::ObjectKind;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000 * kMs;
constexpr int64_t kT0 = 100 * kS;
constexpr uint64_t kC1 = 0xc000020060;

class FakePause : public Pause {
 public:
  std::vector<int64_t> slept;
  void sleep_ns(int64_t ns) override { slept.push_back(ns); }
};

// The verdicts of the wait-for graph only (finish() adds the rules' findings).
std::vector<Finding> graph(std::vector<Finding> all) {
  std::erase_if(all, [](const Finding& f) { return rule_info(f.rule).analysis != Analysis::kWaitForGraph; });
  return all;
}

class JudgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>("bug_chancycle");
    ASSERT_TRUE(s->ok());
    symbols = std::make_shared<state::StackSymbolizer>(*s->binary, s->stacks);
    model = std::make_unique<state::StateModel>(symbols);
    config.deadlock_after_ns = 1 * kS;
    // main sleeps (not every goroutine is stuck): what is judged below is a leak.
    Event e = SyntheticEvents::event(
        EventKind::kPark, 1, kT0,
        s->stack({s->entry("runtime.gopark"), s->in("time.Sleep"), s->in("main.main"), s->in("runtime.main"),
                  s->in("runtime.goexit")}));
    e.wait_reason = s->reason("sleep");
    model->apply(e);
  }
  std::unique_ptr<Judge> judge(ProcessView* process) {
    return std::make_unique<Judge>(*model, s->info, process, config, pause);
  }
  model::StackId send_stack() {
    return s->stack({s->entry("runtime.gopark"), s->in("runtime.chansend1"), s->in("main.main.func1"),
                     s->in("runtime.goexit")});
  }
  // Goroutine `goid` blocks at `t` sending on a channel only its own stack reaches: a leak.
  void leak(uint64_t goid, int64_t t, Judge* j = nullptr) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, send_stack());
    e.wait_reason = s->reason("chan send");
    e.objects = {{kC1 + goid * 0x100, ObjectKind::kChannel, 0}};
    model->apply(e);
    if (j) j->apply(e);
    process.table.from_goroutine[goid] = {kC1 + goid * 0x100};
    still_blocked.push_back(goid);
  }
  // The snapshot a look returns: every goroutine in still_blocked waits in "chan send".
  model::ProcessSnapshot snapshot() {
    model::ProcessSnapshot snap;
    for (uint64_t goid : still_blocked) {
      model::GoroutineSnapshot g;
      g.goid = goid;
      g.status = static_cast<uint32_t>(model::GStatus::kWaiting);
      g.wait_reason = s->reason("chan send");
      snap.goroutines.push_back(g);
    }
    return snap;
  }

  std::unique_ptr<SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> model;
  JudgeConfig config;
  FakeProcess process;
  FakePause pause;
  std::vector<uint64_t> still_blocked;
};

TEST_F(JudgeTest, SuspectsAreJudgedOnceOldEnoughAndReportedOnce) {
  auto j = judge(&process);
  leak(7, kT0);
  process.snapshots = {snapshot()};
  EXPECT_TRUE(j->tick(kT0 + 500 * kMs).empty());  // blocked 0.5 s: not a suspect yet
  EXPECT_EQ(process.looks, 0);
  auto fresh = j->tick(kT0 + 1 * kS);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].rule, Rule::kGoroutineLeak);
  EXPECT_EQ(process.looks, 1);
  EXPECT_EQ(process.scans, 1);
  // Judged again later (the same verdict): never reported twice, and every one is in finish().
  EXPECT_TRUE(j->tick(kT0 + 3 * kS).empty());
  EXPECT_EQ(process.looks, 2);
  auto all = graph(j->finish(kT0 + 4 * kS, false));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rule, Rule::kGoroutineLeak);
}

TEST_F(JudgeTest, TheSameSuspectsAreJudgedAgainLessAndLessOften) {
  config.rejudge_max_ns = 8 * kS;
  auto j = judge(&process);
  leak(7, kT0);
  process.snapshots = {snapshot()};
  std::vector<int64_t> judged_at;
  for (int64_t t = kT0 + 1 * kS; t <= kT0 + 40 * kS; t += kS) {
    const int before = process.looks;
    j->tick(t);
    if (process.looks > before) judged_at.push_back((t - kT0) / kS);
  }
  // 1 s, then 1, 2, 4, 8, 8... seconds apart.
  EXPECT_EQ(judged_at, (std::vector<int64_t>{1, 2, 4, 8, 16, 24, 32, 40}));
}

TEST_F(JudgeTest, ANewSuspectIsJudgedAtOnceAndTheIntervalStartsOver) {
  auto j = judge(&process);
  leak(7, kT0);
  process.snapshots = {snapshot()};
  for (int64_t t = 1; t <= 4; t++) j->tick(kT0 + t * kS);  // judged at 1, 2, 4 s
  EXPECT_EQ(process.looks, 3);
  leak(8, kT0 + 4 * kS, j.get());
  process.snapshots = {snapshot()};
  EXPECT_TRUE(j->tick(kT0 + 5 * kS).empty());  // 8 blocked 1 s... at 5 s: now a suspect
  EXPECT_EQ(process.looks, 4);
  j->tick(kT0 + 6 * kS);  // the new set, judged again 1 s later
  EXPECT_EQ(process.looks, 5);
  auto all = graph(j->finish(kT0 + 7 * kS, false));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].goroutines.size(), 2u);  // one leak per site, both goroutines
}

TEST_F(JudgeTest, NothingBlockedLongEnoughMeansNoLook) {
  auto j = judge(&process);
  leak(7, kT0 + 200 * kMs);
  for (int64_t t = 100; t < 1000; t += 100) EXPECT_TRUE(j->tick(kT0 + t * kMs).empty());
  EXPECT_EQ(process.looks, 0);
  EXPECT_TRUE(j->notes().empty());
}

TEST_F(JudgeTest, AProcessThatCannotBeReadIsANoteUnlessItIsGone) {
  auto j = judge(&process);
  leak(7, kT0);
  process.is_gone = true;  // no snapshot queued: every look fails
  EXPECT_TRUE(j->tick(kT0 + 2 * kS).empty());
  EXPECT_TRUE(j->notes().empty()) << "an exiting process is no news";
  process.is_gone = false;
  leak(8, kT0 + 1 * kS);
  EXPECT_TRUE(j->tick(kT0 + 3 * kS).empty());
  ASSERT_EQ(j->notes().size(), 1u);
  EXPECT_NE(j->notes()[0].find("the test says so"), std::string::npos) << j->notes()[0];
}

TEST_F(JudgeTest, TheSnapshotLookMustStillShowTheSuspectBlocked) {
  auto j = judge(&process);
  leak(7, kT0);
  model::ProcessSnapshot moved_on;  // goroutine 7 is running again
  model::GoroutineSnapshot g;
  g.goid = 7;
  g.status = static_cast<uint32_t>(model::GStatus::kRunning);
  moved_on.goroutines.push_back(g);
  process.snapshots = {moved_on};
  EXPECT_TRUE(j->tick(kT0 + 2 * kS).empty());
  EXPECT_TRUE(graph(j->finish(kT0 + 3 * kS, false)).empty());
}

TEST_F(JudgeTest, AtTheProgramsExitOnlyWhatNeedsNoMemoryIsJudged) {
  auto j = judge(&process);
  leak(7, kT0);
  leak(1, kT0 + 5 * kMs);  // main blocks in a send too: every goroutine asleep
  auto all = graph(j->finish(kT0 + 10 * kMs, /*target_exited=*/true));
  EXPECT_EQ(process.looks, 0) << "no memory left to read";
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rule, Rule::kAllAsleep);
}

TEST_F(JudgeTest, AReplayAdoptsTheRecordedVerdictsAndJudgesOnlyAtTheEnd) {
  Finding recorded;
  {  // the recording, live
    auto live = judge(&process);
    leak(7, kT0);
    process.snapshots = {snapshot()};
    auto fresh = live->tick(kT0 + 2 * kS);
    ASSERT_EQ(fresh.size(), 1u);
    recorded = fresh[0];
  }
  auto replay = judge(nullptr);
  EXPECT_TRUE(replay->tick(kT0 + 2 * kS).empty());
  replay->adopt(recorded);
  const int looks = process.looks;
  auto all = graph(replay->finish(kT0 + 3 * kS, false));
  EXPECT_EQ(process.looks, looks);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, recorded.key);
}

TEST_F(JudgeTest, ADumpVerdictIsConfirmedByASecondLookAMomentLater) {
  auto j = judge(&process);
  leak(7, kT0);
  const auto first = snapshot();
  process.snapshots = {snapshot()};
  auto found = j->judge_snapshot(first, 0, kT0 + kMs);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(pause.slept, (std::vector<int64_t>{200 * kMs}));
  EXPECT_EQ(process.looks, 1);

  // Woken between the two looks: nothing is reported.
  model::ProcessSnapshot moved_on;
  model::GoroutineSnapshot g;
  g.goid = 7;
  g.status = static_cast<uint32_t>(model::GStatus::kRunnable);
  moved_on.goroutines.push_back(g);
  process.snapshots = {moved_on};
  EXPECT_TRUE(j->judge_snapshot(first, 0, kT0 + kMs).empty());

  // The second look fails: nothing is reported, and the note says why.
  process.snapshots.clear();
  EXPECT_TRUE(j->judge_snapshot(first, 0, kT0 + kMs).empty());
  ASSERT_FALSE(j->notes().empty());
  EXPECT_NE(j->notes().back().find("second look"), std::string::npos);
}

TEST_F(JudgeTest, NothingFoundInADumpNeedsNoSecondLook) {
  auto j = judge(&process);
  leak(7, kT0);
  process.table.from_globals = {kC1 + 7 * 0x100};  // a global still reaches the channel
  EXPECT_TRUE(j->judge_snapshot(snapshot(), 0, kT0 + kMs).empty());
  EXPECT_TRUE(pause.slept.empty());
  EXPECT_EQ(process.looks, 0);
}

// A deadlock judged again once a goroutine that blocked on it a moment later has waited
// long enough too: one finding that grows, never two for one bug.
TEST(RecordFinding, ADeadlockJudgedAgainWithMoreGoroutinesGrows) {
  auto deadlock = [](std::vector<uint64_t> goids) {
    Finding f;
    f.rule = Rule::kMutexDeadlock;
    for (uint64_t g : goids) {
      FindingGoroutine fg;
      fg.goid = g;
      f.goroutines.push_back(fg);
      f.key += std::to_string(g) + ",";
    }
    return f;
  };
  std::vector<Finding> known;
  EXPECT_TRUE(record_finding(known, deadlock({20, 21, 22, 23})));
  EXPECT_FALSE(record_finding(known, deadlock({20, 21, 22, 23, 24})));
  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].goroutines.size(), 5u);
  EXPECT_FALSE(record_finding(known, deadlock({20, 21})));  // a part of it: nothing new
  EXPECT_TRUE(record_finding(known, deadlock({30, 31})));   // another deadlock
  EXPECT_EQ(known.size(), 2u);
  Finding other_rule = deadlock({20, 21, 22, 23, 24, 25});
  other_rule.rule = Rule::kMixedDeadlock;
  EXPECT_TRUE(record_finding(known, other_rule));  // another kind of verdict is news
  EXPECT_EQ(known.size(), 3u);
}

// The rule table's facts decide what a recording stores and how reports group findings.
TEST(RuleFacts, EveryRuleHasConsistentFacts) {
  std::set<std::string> ids, names;
  for (const RuleInfo& r : all_rules()) {
    EXPECT_TRUE(ids.insert(r.id).second) << r.id;
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    // A verdict that needs the process's memory can only come from the wait-for graph
    // (which judges while the process is alive); a replay adopts it.
    if (r.needs_memory) {
      EXPECT_EQ(r.analysis, Analysis::kWaitForGraph) << r.id;
    }
    if (r.category == RuleCategory::kDeadlock || r.category == RuleCategory::kLeak) {
      EXPECT_EQ(r.analysis, Analysis::kWaitForGraph) << r.id;
    }
  }
  EXPECT_EQ(rule_info(Rule::kGoroutineLeak).category, RuleCategory::kLeak);
  EXPECT_TRUE(rule_info(Rule::kChannelDeadlock).needs_memory);
  EXPECT_FALSE(rule_info(Rule::kMutexDeadlock).needs_memory);
  EXPECT_EQ(rule_info(Rule::kLongBlocking).analysis, Analysis::kEventRules);
}

}  // namespace
}  // namespace goscope::detect
