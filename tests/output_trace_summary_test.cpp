// The end-of-trace summary, as text and JSON, from a state model fed synthetic
// events of the pipeline test program (Go 1.22): blocked goroutines grouped by
// site and reason, blocking sites, contended mutexes, channels, lost events.
#include "output/trace_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::output {
namespace {

using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::ObjectKind;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kChan = 0xc000020060;
constexpr uint64_t kMutex = 0xc0000180a0;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 3'000 * kMs;

std::string text_of(const state::StateModel& state, const EventFormatter& format,
                    const model::TraceCounters& counters, const SummaryOptions& options) {
  char* buf = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&buf, &size);
  write_trace_summary(f, state, format, counters, options);
  std::fclose(f);
  std::string s(buf, size);
  std::free(buf);
  return s;
}

class OutputTraceSummary : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>();
    ASSERT_TRUE(s->ok());
    format = std::make_unique<EventFormatter>(*s->binary, s->info, FormatOptions{});
    state = std::make_unique<state::StateModel>(format->symbols());
    sink_line = s->source_line(R"(^\s*for v := range squares \{)");
    main_line = s->source_line(R"(^\s*sum := <-result$)");
    sink_park = s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv2"),
                          s->call_at("main.main.func4", sink_line), s->in("runtime.goexit")});
    lock_park =
        s->stack({s->entry("runtime.gopark"), s->in("sync.(*Mutex).lockSlow"),
                  s->call_at("main.main", main_line), s->in("runtime.main"), s->in("runtime.goexit")});
    feed();
  }

  void park(uint64_t goid, int64_t t, model::StackId stack, const char* reason, uint64_t object,
            ObjectKind kind) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, stack);
    e.wait_reason = s->reason(reason);
    e.objects = {{object, kind, 0}};
    e.object = object;
    e.object_kind = kind;
    state->apply(e);
  }
  void ready(uint64_t waker, uint64_t wakee, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kReady, waker, t);
    e.other_goid = wakee;
    state->apply(e);
  }

  // g21..g23 blocked on the channel at the sink's loop (since 100, 200, 300 ms); g7 waits
  // for the mutex held by g5 (contended twice before); a GC worker idles; g30 came and went.
  void feed() {
    Event make = SyntheticEvents::event(EventKind::kChanMake, 1, kT0, sink_park);
    make.object = kChan;
    make.value = 8;
    make.value2 = 8;
    state->apply(make);
    for (int i = 0; i < 3; i++) {
      Event send = SyntheticEvents::event(EventKind::kChanSend, 2, kT0 + kMs, sink_park);
      send.object = kChan;
      send.flags = model::kOk;
      state->apply(send);
    }
    Event recv = SyntheticEvents::event(EventKind::kChanRecv, 3, kT0 + kMs, sink_park);
    recv.object = kChan;
    recv.flags = model::kOk | model::kReceived;
    state->apply(recv);

    for (uint64_t g = 21; g <= 23; g++)
      park(g, kT0 + static_cast<int64_t>(g - 20) * 100 * kMs, sink_park, "chan receive", kChan,
           ObjectKind::kChannel);

    for (int64_t i = 0; i < 2; i++) {
      Event lock = SyntheticEvents::event(EventKind::kMutexLock, 5, kT0 + (i + 1) * 10 * kMs, lock_park);
      lock.object = kMutex;
      lock.object_kind = ObjectKind::kMutex;
      lock.flags = model::kContended;
      lock.begin_ns = lock.time_ns - (i + 1) * 4 * kMs;  // 4 and 8 ms
      state->apply(lock);
    }
    park(7, kT0 + 50 * kMs, lock_park, "sync.Mutex.Lock", kMutex, ObjectKind::kMutex);

    Event worker = SyntheticEvents::event(EventKind::kGoCreate, 50, kT0);
    worker.start_pc = s->entry("runtime.gcBgMarkWorker");
    state->apply(worker);
    const auto idle =
        s->stack({s->entry("runtime.gopark"), s->in("runtime.gcBgMarkWorker"), s->in("runtime.goexit")});
    Event idle_park = SyntheticEvents::event(EventKind::kPark, 50, kT0, idle);
    idle_park.wait_reason = s->reason("GC worker (idle)");
    state->apply(idle_park);

    Event created = SyntheticEvents::event(EventKind::kGoCreate, 30, kT0 + kMs);
    created.other_goid = 1;
    created.start_pc = s->entry("main.main.func1");
    state->apply(created);
    park(30, kT0 + 2 * kMs, sink_park, "chan receive", kChan, ObjectKind::kChannel);
    ready(2, 30, kT0 + 12 * kMs);
    state->apply(SyntheticEvents::event(EventKind::kGoExit, 30, kT0 + 13 * kMs));

    options.start_ns = kT0;
    options.end_ns = kT0 + 1000 * kMs;
    counters.events_seen = 1234;
    counters.events_printed = 1000;
  }

  std::unique_ptr<SyntheticEvents> s;
  std::unique_ptr<EventFormatter> format;
  std::unique_ptr<state::StateModel> state;
  int sink_line = 0, main_line = 0;
  model::StackId sink_park = 0, lock_park = 0;
  SummaryOptions options;
  model::TraceCounters counters;
};

TEST_F(OutputTraceSummary, TextSections) {
  const std::string text = text_of(*state, *format, counters, options);
  SCOPED_TRACE(text);
  EXPECT_THAT(text, HasSubstr("goscope trace summary: 1s, 1234 events (1234 events/s), 1000 shown\n"));
  EXPECT_THAT(text,
              HasSubstr("goroutines: 10 seen (2 created, 1 exited during the trace), 9 alive at the end, "
                        "1 of them the runtime's own\n"));
  // The three sink goroutines in one group, the longest blocked (since 100 ms: 900 ms) first.
  EXPECT_THAT(text, HasSubstr("blocked now: 4 goroutines (+1 of the runtime's own, not shown)\n"));
  const std::string sink_site = "main.main.func4 (main.go:" + std::to_string(sink_line) + ")";
  EXPECT_THAT(text, ::testing::ContainsRegex("\n"
                                             R"(  900ms +g21 g22 g23 +chan receive +chan 0xc000020060 +)" +
                                             std::string("main\\.main\\.func4 \\(main\\.go:") +
                                             std::to_string(sink_line) + "\\)\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n"
                                             R"(  950ms +g7 +sync\.Mutex\.Lock +sync\.Mutex 0xc0000180a0 +)" +
                                             std::string("main\\.main \\(main\\.go:") +
                                             std::to_string(main_line) + "\\)\n"));
  EXPECT_LT(text.find("g7 "), text.find("g21 g22 g23"));  // 950 ms before 900 ms
  EXPECT_THAT(text, Not(HasSubstr("g50")));

  // Sites: the sink 900 + 800 + 700 + 10 (g30's) ms, then main's 950 ms of g7.
  EXPECT_THAT(text, ::testing::ContainsRegex("\n"
                                             R"( +2\.41s +4 \(3 now\) +900ms +chan receive +)" +
                                             std::string("main\\.main\\.func4")));
  EXPECT_THAT(text,
              ::testing::ContainsRegex("\n"
                                       R"( +950ms +1 \(1 now\) +950ms +sync\.Mutex\.Lock +main\.main \()"));
  EXPECT_THAT(text, HasSubstr("by reason: chan receive 2.41s (4), sync.Mutex.Lock 950ms (1)\n"));
  EXPECT_THAT(text, Not(HasSubstr("GC worker")));

  EXPECT_THAT(text,
              HasSubstr("  sync.Mutex 0xc0000180a0: 2 contended of 2 locks, waited 12ms in all, 8ms at most; "
                        "held by g5; waiting: g7\n"));
  EXPECT_THAT(
      text,
      HasSubstr("busiest channels\n  chan 0xc000020060 cap 8: 3 sends, 1 receives; 7 goroutines; made at " +
                sink_site + "\n"));
  EXPECT_THAT(text, HasSubstr("  0 lost (ring buffer full 0, malformed 0, unpaired 0)"));
  EXPECT_THAT(text, Not(HasSubstr("WARNING")));
  EXPECT_THAT(text, Not(HasSubstr("\033[")));
}

TEST_F(OutputTraceSummary, LostEventsAreLoud) {
  counters.ringbuf_full = 40;
  counters.unpaired = 2;
  counters.stack_cut = 9;
  const std::string text = text_of(*state, *format, counters, options);
  EXPECT_THAT(text, HasSubstr("  42 lost (ring buffer full 40, malformed 0, unpaired 2); 9 incomplete"));
  EXPECT_THAT(text, HasSubstr("stack cut 9)"));
  EXPECT_THAT(text, HasSubstr("WARNING: 42 events were lost"));
  options.color = true;
  EXPECT_THAT(text_of(*state, *format, counters, options),
              HasSubstr("\033[1;31mWARNING: 42 events were lost"));
}

TEST_F(OutputTraceSummary, RuntimeShownWhenAskedAndRowsLimited) {
  options.show_runtime = true;
  options.max_rows = 1;
  const std::string text = text_of(*state, *format, counters, options);
  SCOPED_TRACE(text);
  EXPECT_THAT(text, HasSubstr("blocked now: 5 goroutines\n"));
  // The GC worker has been idle the longest (1 s) and comes first; one row only.
  EXPECT_THAT(text, ::testing::ContainsRegex("\n"
                                             R"(  1s +g50 +GC worker \(idle\) +runtime\.gcBgMarkWorker \()"));
  EXPECT_THAT(text, HasSubstr("... 2 more groups"));
  EXPECT_THAT(text, Not(HasSubstr("g21 g22 g23")));
}

TEST_F(OutputTraceSummary, NoOperationCountsWithoutEveryOperation) {
  state::StateModel quiet(format->symbols());
  Event make = SyntheticEvents::event(EventKind::kChanMake, 1, kT0, sink_park);
  make.object = kChan;
  quiet.apply(make);
  Event close = make;
  close.kind = EventKind::kChanClose;
  quiet.apply(close);
  const std::string text = text_of(quiet, *format, counters, options);
  EXPECT_THAT(text,
              HasSubstr("channels\n  1 made, 1 closed during the trace (counts of sends and receives need"));
  EXPECT_THAT(text, HasSubstr("blocked now: 0 goroutines\n"));
  EXPECT_THAT(
      text, HasSubstr("top blocking sites (time goroutines spent blocked there during the trace)\n  none\n"));
  EXPECT_THAT(text, HasSubstr("contended mutexes\n  none seen\n"));
}

TEST_F(OutputTraceSummary, JsonHasTheSameContent) {
  counters.ringbuf_full = 3;
  const nlohmann::json j = trace_summary_json(*state, *format, counters, options);
  SCOPED_TRACE(j.dump(2));
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 1.0);
  EXPECT_EQ(j["events"], 1234);
  EXPECT_DOUBLE_EQ(j["events_per_s"].get<double>(), 1234.0);
  EXPECT_EQ(j["events_shown"], 1000);
  EXPECT_EQ(j["goroutines"],
            (nlohmann::json{{"seen", 10}, {"created", 2}, {"exited", 1}, {"alive", 9}, {"runtime", 1}}));

  const auto& blocked = j["blocked_now"];
  EXPECT_EQ(blocked["goroutines"], 4);
  EXPECT_EQ(blocked["runtime_hidden"], 1);
  ASSERT_EQ(blocked["groups"].size(), 2u);
  const auto& g7 = blocked["groups"][0];
  EXPECT_EQ(g7["goids"], (nlohmann::json{7}));
  EXPECT_EQ(g7["reason"], "sync.Mutex.Lock");
  EXPECT_EQ(g7["objects"], (nlohmann::json{{{"addr", "0xc0000180a0"}, {"kind", "sync.Mutex"}}}));
  EXPECT_EQ(g7["longest_ns"], 950 * kMs);
  EXPECT_EQ(g7["func"], "main.main");
  EXPECT_THAT(g7["site"].get<std::string>(),
              ::testing::EndsWith("/pipeline/main.go:" + std::to_string(main_line)));
  const auto& sinks = blocked["groups"][1];
  EXPECT_EQ(sinks["goids"], (nlohmann::json{21, 22, 23}));
  EXPECT_EQ(sinks["count"], 3);
  EXPECT_EQ(sinks["reason"], "chan receive");
  EXPECT_EQ(sinks["reason_code"], s->reason("chan receive"));
  EXPECT_EQ(sinks["longest_ns"], 900 * kMs);
  EXPECT_EQ(sinks["shortest_ns"], 700 * kMs);
  EXPECT_EQ(sinks["since_exact"], true);
  EXPECT_EQ(sinks["func"], "main.main.func4");

  ASSERT_EQ(j["blocking_sites"].size(), 2u);
  EXPECT_EQ(j["blocking_sites"][0]["func"], "main.main.func4");
  EXPECT_EQ(j["blocking_sites"][0]["total_ns"], 2410 * kMs);
  EXPECT_EQ(j["blocking_sites"][0]["count"], 4);
  EXPECT_EQ(j["blocking_sites"][0]["ongoing"], 3);
  EXPECT_EQ(j["blocking_sites"][0]["max_ns"], 900 * kMs);
  EXPECT_EQ(j["blocking_by_reason"][0]["reason"], "chan receive");
  EXPECT_EQ(j["blocking_by_reason"][1]["total_ns"], 950 * kMs);

  ASSERT_EQ(j["mutexes"].size(), 1u);
  EXPECT_EQ(j["mutexes"][0], (nlohmann::json{{"addr", "0xc0000180a0"},
                                             {"kind", "sync.Mutex"},
                                             {"acquisitions", 2},
                                             {"contended", 2},
                                             {"wait_total_ns", 12 * kMs},
                                             {"wait_max_ns", 8 * kMs},
                                             {"holder", 5},
                                             {"readers", nlohmann::json::array()},
                                             {"waiters", {7}}}));

  EXPECT_EQ(j["channels"]["made"], 1);
  EXPECT_EQ(j["channels"]["operations_traced"], true);
  ASSERT_EQ(j["channels"]["busiest"].size(), 1u);
  const auto& ch = j["channels"]["busiest"][0];
  EXPECT_EQ(ch["addr"], "0xc000020060");
  EXPECT_EQ(ch["cap"], 8);
  EXPECT_EQ(ch["sends"], 3);
  EXPECT_EQ(ch["recvs"], 1);
  EXPECT_EQ(ch["goroutines"], (nlohmann::json{1, 2, 3, 21, 22, 23, 30}));
  EXPECT_EQ(ch["func"], "main.main.func4");

  EXPECT_EQ(j["lost"],
            (nlohmann::json{{"total", 3}, {"ringbuf_full", 3}, {"malformed", 0}, {"unpaired", 0}}));
  EXPECT_EQ(j["incomplete"]["total"], 0);
}

}  // namespace
}  // namespace goscope::output
