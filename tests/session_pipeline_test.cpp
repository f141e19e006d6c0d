// The session pipeline with a scripted source: what sinks see and in which order,
// ticks by event time, stops, and a recording (TraceFileSink) read back through the
// ReplaySource into the same verdicts. No root, no process: the source and the
// process the judge looks at are fakes made of the bug programs' real addresses.
#include "session/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/clock.h"
#include "state/code_info.h"
#include "fake_process.h"
#include "tracefile/trace_file.h"
#include "session/replay_source.h"
#include "session/trace_file_sink.h"
#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::session {
namespace {

namespace fs = std::filesystem;
using goscope::testing::FakeProcess;
using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::ObjectKind;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000 * kMs;
constexpr int64_t kT0 = 100 * kS;
constexpr uint64_t kC1 = 0xc000020060;

// A source that plays a script (a seed, events), two items per pump, with time taken from its events.
class ScriptedSource final : public Source {
 public:
  struct Item {
    Item(model::ProcessSnapshot s) : seed(std::move(s)), is_seed(true) {}
    Item(Event e) : event(std::move(e)) {}
    model::ProcessSnapshot seed;
    Event event;
    bool is_seed = false;
  };

  ScriptedSource(SyntheticEvents& s, detect::ProcessView* process)
      : s_(s), process_(process), symbols_(std::make_shared<state::StackSymbolizer>(*s.binary, s.stacks)) {}

  std::vector<Item> script;
  int pumps = 0;
  std::string end_reason = "the script ended";

  const model::StreamInfo& stream() const override { return s_.info; }
  std::shared_ptr<const state::StackSymbolizer> symbols() const override { return symbols_; }
  detect::ProcessView* process() override { return process_; }
  bool holders_traced() const override { return false; }
  bool live() const override { return false; }
  int64_t start_ns() const override { return kT0; }
  Expected<void> begin(Receiver&) override { return {}; }
  std::optional<std::string> ended() override {
    if (next_ < script.size()) return std::nullopt;
    return end_reason;
  }
  Expected<void> pump(Receiver& r, int) override {
    pumps++;
    for (int n = 0; n < 2 && next_ < script.size(); n++, next_++) {
      Item& item = script[next_];
      if (item.is_seed) {
        r.seed(item.seed, 0, s_.stacks);
      } else {
        r.event(item.event);
        last_ns_ = item.event.time_ns;
      }
    }
    return {};
  }
  model::TraceEnd finish(Receiver&, const std::string& reason) override {
    model::TraceEnd end;
    end.end_ns = last_ns_;
    end.reason = reason;
    end.counters.events_seen = 7;
    return end;
  }
  model::TraceCounters counters() const override { return {}; }

 private:
  SyntheticEvents& s_;
  detect::ProcessView* process_;
  std::shared_ptr<const state::StackSymbolizer> symbols_;
  size_t next_ = 0;
  int64_t last_ns_ = kT0;
};

// Writes down what it sees, in order.
class Log final : public Sink {
 public:
  std::vector<std::string> lines;
  size_t stop_after_events = 0;  // 0: never stop the session

  void on_seed(Session& s, const model::ProcessSnapshot& snap, uint64_t) override {
    lines.push_back("seed " + std::to_string(snap.goroutines.size()) + " goroutines, model has " +
                    std::to_string(s.state().goroutines().size()));
  }
  void on_stream(Session&) override { lines.push_back("stream"); }
  void on_event(Session& s, const Event& e) override {
    lines.push_back("event " + std::to_string(e.goid) + " " + model::event_kind_name(e.kind));
    if (stop_after_events && ++events_ == stop_after_events) s.stop("the sink has seen enough");
  }
  void on_verdict(Session&, const detect::Finding& f) override { lines.push_back("verdict " + f.key); }
  void on_second(Session&, int64_t now_ns, const std::vector<detect::Finding>& fresh) override {
    lines.push_back("second " + std::to_string((now_ns - kT0) / kS) + " fresh " + std::to_string(fresh.size()));
  }
  void on_end(Session& s) override {
    lines.push_back("end (" + s.end().reason + ") " + std::to_string(s.findings().size()) + " findings");
  }

 private:
  size_t events_ = 0;
};

class SessionPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>("bug_chancycle");
    ASSERT_TRUE(s->ok());
    judge.deadlock_after_ns = 1 * kS;
  }
  model::StackId send_stack() {
    return s->stack({s->entry("runtime.gopark"), s->in("runtime.chansend1"), s->in("main.main.func1"),
                     s->in("runtime.goexit")});
  }
  Event sleep_event(uint64_t goid, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t,
                                     s->stack({s->entry("runtime.gopark"), s->in("time.Sleep"),
                                               s->in("main.main"), s->in("runtime.main"), s->in("runtime.goexit")}));
    e.wait_reason = s->reason("sleep");
    return e;
  }
  // Goroutine `goid` blocks sending on a channel only its own stack reaches: a leak.
  Event leak_event(uint64_t goid, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, send_stack());
    e.wait_reason = s->reason("chan send");
    e.objects = {{kC1 + goid * 0x100, ObjectKind::kChannel, 0}};
    process.table.from_goroutine[goid] = {kC1 + goid * 0x100};
    model::GoroutineSnapshot g;
    g.goid = goid;
    g.status = static_cast<uint32_t>(model::GStatus::kWaiting);
    g.wait_reason = s->reason("chan send");
    still_blocked.goroutines.push_back(g);
    process.snapshots = {still_blocked};
    return e;
  }

  std::unique_ptr<SyntheticEvents> s;
  detect::JudgeConfig judge;
  FakeProcess process;
  model::ProcessSnapshot still_blocked;
};

TEST_F(SessionPipeline, SinksSeeTheSeedTheEventsTheSecondsAndTheEndInOrder) {
  ScriptedSource source(*s, &process);
  model::ProcessSnapshot seed;
  seed.goroutines.resize(1);
  seed.goroutines[0].goid = 1;
  seed.goroutines[0].status = static_cast<uint32_t>(model::GStatus::kRunning);
  source.script = {seed, sleep_event(1, kT0 + 100 * kMs), leak_event(7, kT0 + 200 * kMs),
                   SyntheticEvents::event(EventKind::kCpuSample, 1, kT0 + 2500 * kMs)};
  Session session(source, judge);
  Log log;
  session.add_sink(log);
  ASSERT_TRUE(session.run());
  const std::vector<std::string> want = {
      "seed 1 goroutines, model has 1",
      "stream",
      "event 1 park",
      "event 7 park",
      "second 1 fresh 0",  // 7 blocked 0.8 s: not yet a suspect
      "second 2 fresh 1",  // blocked 1.8 s: the leak, judged with a look at the process
      "event 1 cpu-sample",
      "end (the script ended) 2 findings",  // the leak, and the rules' GS301 at the end
  };
  EXPECT_EQ(log.lines, want);
  EXPECT_EQ(process.looks, 2);  // at second 2, and once more at the end
  EXPECT_EQ(session.end().counters.events_seen, 7u);
  // A CPU sample is for the CPU profile only: goroutine 1 is still asleep in the model.
  const state::GoroutineInfo* main = session.state().goroutine(1);
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->state, state::GoroutineState::kBlocked);
}

// A live source whose start is fixed when it begins (trace does not fix it earlier):
// the session ticks once a second of the clock from then, not once per turn of its
// loop until it has caught up with the time since boot.
class ClockSource final : public Source {
 public:
  explicit ClockSource(SyntheticEvents& s) : s_(s), symbols_(std::make_shared<state::StackSymbolizer>(*s.binary, s.stacks)) {}
  int turns = 0;
  const model::StreamInfo& stream() const override { return s_.info; }
  std::shared_ptr<const state::StackSymbolizer> symbols() const override { return symbols_; }
  detect::ProcessView* process() override { return nullptr; }
  bool holders_traced() const override { return false; }
  bool live() const override { return true; }
  int64_t start_ns() const override { return start_ns_; }
  Expected<void> begin(Receiver&) override {
    start_ns_ = monotonic_ns();
    return {};
  }
  std::optional<std::string> ended() override {
    if (turns < 30) return std::nullopt;
    return "enough turns";
  }
  Expected<void> pump(Receiver&, int) override {
    turns++;
    return {};
  }
  model::TraceEnd finish(Receiver&, const std::string& reason) override {
    model::TraceEnd end;
    end.end_ns = monotonic_ns();
    end.reason = reason;
    return end;
  }
  model::TraceCounters counters() const override { return {}; }

 private:
  SyntheticEvents& s_;
  std::shared_ptr<const state::StackSymbolizer> symbols_;
  int64_t start_ns_ = 0;
};

TEST_F(SessionPipeline, LiveTicksFollowTheClockFromTheSourcesStart) {
  ClockSource source(*s);
  Session session(source, judge);
  Log log;
  session.add_sink(log);
  ASSERT_TRUE(session.run());
  EXPECT_EQ(source.turns, 30);
  // 30 turns that return at once take far less than a second: no tick at all.
  EXPECT_EQ(std::count_if(log.lines.begin(), log.lines.end(),
                          [](const std::string& l) { return l.starts_with("second "); }),
            0);
}

TEST_F(SessionPipeline, ASinkCanStopTheSession) {
  ScriptedSource source(*s, &process);
  for (int i = 0; i < 10; i++) source.script.push_back(sleep_event(1, kT0 + i * kMs));
  Session session(source, judge);
  Log log;
  log.stop_after_events = 3;
  session.add_sink(log);
  ASSERT_TRUE(session.run());
  EXPECT_EQ(session.end().reason, "the sink has seen enough");
  // The pump in which it asked delivers its last item; nothing after.
  EXPECT_EQ(source.pumps, 2);
  EXPECT_EQ(log.lines.back(), "end (the sink has seen enough) 0 findings");
}

TEST_F(SessionPipeline, AnEmptySourceStillStartsAndEnds) {
  ScriptedSource source(*s, nullptr);
  Session session(source, judge);
  Log log;
  session.add_sink(log);
  ASSERT_TRUE(session.run());
  EXPECT_EQ(log.lines, (std::vector<std::string>{"stream", "end (the script ended) 0 findings"}));
}

// A verdict reached live with the process's memory goes into the trace file; read back
// by the replay source, the session adopts it: the same finding without any process.
TEST_F(SessionPipeline, ARecordedVerdictComesBackFromTheTraceFile) {
  char tmpl[] = "/tmp/goscope-session-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/run.gst";
  std::vector<detect::Finding> live_findings;
  {
    ScriptedSource source(*s, &process);
    source.script = {sleep_event(1, kT0), leak_event(7, kT0 + 10 * kMs), leak_event(8, kT0 + 20 * kMs),
                     SyntheticEvents::event(EventKind::kCpuSample, 1, kT0 + 3 * kS)};
    model::TraceMeta meta;
    meta.start_ns = kT0;
    auto writer = tracefile::TraceWriter::create(path, meta, state::binary_code_info(*s->binary), s->stacks);
    ASSERT_TRUE(writer) << writer.error().message;
    Session session(source, judge);
    TraceFileSink file(**writer);
    session.add_sink(file);
    ASSERT_TRUE(session.run());
    ASSERT_FALSE(file.error()) << file.error()->message;
    live_findings = session.findings();
  }
  ASSERT_FALSE(live_findings.empty());
  EXPECT_EQ(live_findings[0].rule, detect::Rule::kGoroutineLeak);
  EXPECT_EQ(live_findings[0].goroutines.size(), 2u);

  auto replay = ReplaySource::open(path);
  ASSERT_TRUE(replay) << replay.error().message;
  EXPECT_EQ((*replay)->process(), nullptr);
  Session session(**replay, judge);
  Log log;
  session.add_sink(log);
  ASSERT_TRUE(session.run());
  EXPECT_TRUE((*replay)->damage().empty()) << (*replay)->damage();
  EXPECT_EQ(session.end().reason, "the script ended");  // the recording's end record
  ASSERT_EQ(session.findings().size(), live_findings.size());
  for (size_t i = 0; i < live_findings.size(); i++) {
    EXPECT_EQ(session.findings()[i].key, live_findings[i].key);
    EXPECT_EQ(session.findings()[i].goroutines.size(), live_findings[i].goroutines.size());
  }
  // Stored once (the leak named both goroutines when first found), adopted once.
  EXPECT_EQ(std::count_if(log.lines.begin(), log.lines.end(),
                          [](const std::string& l) { return l.starts_with("verdict "); }),
            1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace goscope::session
