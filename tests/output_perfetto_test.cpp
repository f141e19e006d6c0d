// The Perfetto / Chrome trace JSON exporter: each file parses, has a named track per
// goroutine, slices with the right names, durations and args, flows whose starts all
// have their ends, counters and findings; a large timeline splits into several files
// that each stand alone and together hold every event.
#include "output/perfetto.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "output_timeline_fixture.h"

namespace goscope::output {
namespace {

using nlohmann::json;

class OutputPerfetto : public TimelineFixture {
 protected:
  void SetUp() override {
    TimelineFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    dir = std::filesystem::temp_directory_path() /
          ("goscope_perfetto_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  static json read(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);  // throws (fails the test) on invalid JSON
  }
  static std::vector<json> of_phase(const json& trace, const std::string& ph) {
    std::vector<json> out;
    for (const json& e : trace["traceEvents"])
      if (e["ph"] == ph) out.push_back(e);
    return out;
  }

  std::filesystem::path dir;
};

TEST_F(OutputPerfetto, TracksSlicesFlowsCounters) {
  const Timeline t = main_and_sink();
  detect::Finding finding;
  finding.rule = detect::Rule::kLongBlocking;
  finding.severity = detect::Severity::kWarning;
  finding.title = "goroutines blocked long at main.main";
  finding.message = "1 goroutine blocked 2ms";
  finding.detected_ns = kT0 + 7 * kMs;
  std::vector<detect::Finding> findings{finding};

  PerfettoOptions o;
  o.process_name = "pipeline";
  o.pid = 4242;
  o.findings = findings;
  const std::string path = (dir / "trace.json").string();
  auto files = write_perfetto_json(path, t, *symbols, s->info, o);
  ASSERT_TRUE(files) << files.error().message;
  ASSERT_EQ(*files, std::vector<std::string>{path});
  const json trace = read(path);

  EXPECT_EQ(trace["displayTimeUnit"], "ns");
  std::map<std::string, json> process;
  std::map<int64_t, std::string> thread_names;
  std::map<int64_t, int64_t> sort_index;
  for (const json& m : of_phase(trace, "M")) {
    EXPECT_EQ(m["pid"], 4242);
    if (m["name"] == "process_name") process[m["args"]["name"]] = m;
    if (m["name"] == "thread_name") thread_names[m["tid"]] = m["args"]["name"];
    if (m["name"] == "thread_sort_index") sort_index[m["tid"]] = m["args"]["sort_index"];
  }
  EXPECT_EQ(process.size(), 1u);
  EXPECT_TRUE(process.count("pipeline (pid 4242)"));
  EXPECT_EQ(thread_names, (std::map<int64_t, std::string>{{1, "G1"}, {12, "G12 main.main.func4"}}));
  EXPECT_LT(sort_index.at(1), sort_index.at(12));  // G1 was seen only as a parent: no function known

  // Slices per goroutine, in microseconds since the start.
  std::map<int64_t, std::vector<std::tuple<std::string, double, double>>> slices;
  json wait;
  for (const json& x : of_phase(trace, "X")) {
    EXPECT_EQ(x["pid"], 4242);
    slices[x["tid"]].emplace_back(x["name"], x["ts"], x["dur"]);
    if (x["name"] == "chan receive") wait = x;
  }
  using S = std::tuple<std::string, double, double>;
  EXPECT_EQ(slices[1], (std::vector<S>{{"running", 0, 1000},
                                       {"chan receive", 1000, 2000},
                                       {"runnable", 3000, 1000},
                                       {"running", 4000, 6000}}));
  EXPECT_EQ(slices[12], (std::vector<S>{{"runnable", 0, 2000}, {"running", 2000, 3000}}));
  ASSERT_TRUE(wait.is_object());
  EXPECT_EQ(wait["args"]["state"], "blocked");
  EXPECT_EQ(wait["args"]["object"], "0xc000020060");
  EXPECT_EQ(wait["args"]["object_kind"], "chan");
  EXPECT_EQ(wait["args"]["function"], "main.main");
  const std::string site = wait["args"]["site"];
  EXPECT_TRUE(site.ends_with("main.go:" + std::to_string(main_recv_line))) << site;

  // Every flow start has its end, with the same id, category and name.
  std::map<int64_t, json> starts, ends;
  for (const json& f : of_phase(trace, "s")) starts[f["id"]] = f;
  for (const json& f : of_phase(trace, "f")) ends[f["id"]] = f;
  ASSERT_EQ(starts.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  std::set<std::string> categories;
  for (const auto& [id, s_event] : starts) {
    ASSERT_TRUE(ends.count(id)) << id;
    const json& f_event = ends[id];
    EXPECT_EQ(f_event["cat"], s_event["cat"]);
    EXPECT_EQ(f_event["name"], s_event["name"]);
    EXPECT_EQ(f_event["bp"], "e");
    categories.insert(s_event["cat"]);
    if (s_event["cat"] == "channel") {
      EXPECT_EQ(s_event["tid"], 12);
      EXPECT_EQ(s_event["ts"], 3000.0);
      EXPECT_EQ(f_event["tid"], 1);
      EXPECT_EQ(f_event["ts"], 4000.0);
      EXPECT_EQ(s_event["args"]["object"], "0xc000020060");
    } else {
      EXPECT_EQ(s_event["tid"], 1);
      EXPECT_EQ(f_event["tid"], 12);
      EXPECT_EQ(f_event["ts"], 2000.0);
    }
  }
  EXPECT_EQ(categories, (std::set<std::string>{"channel", "create"}));

  std::vector<std::tuple<std::string, double, int64_t>> counters;
  for (const json& c : of_phase(trace, "C"))
    counters.emplace_back(c["name"], c["ts"], c["args"]["goroutines"]);
  using C = std::tuple<std::string, double, int64_t>;
  EXPECT_EQ(counters, (std::vector<C>{{"alive", 0, 2},
                                      {"blocked", 0, 0},
                                      {"alive", 1000, 2},
                                      {"blocked", 1000, 1},
                                      {"alive", 3000, 2},
                                      {"blocked", 3000, 0},
                                      {"alive", 5000, 1},
                                      {"blocked", 5000, 0},
                                      {"alive", 10000, 1},
                                      {"blocked", 10000, 0}}));

  const auto instants = of_phase(trace, "i");
  ASSERT_EQ(instants.size(), 1u);
  EXPECT_EQ(instants[0]["s"], "g");
  EXPECT_EQ(instants[0]["ts"], 7000.0);
  EXPECT_EQ(instants[0]["name"], finding.title);
  EXPECT_EQ(instants[0]["args"]["rule"], "GS301");
}

TEST_F(OutputPerfetto, NamesThatAreNotUtf8StillMakeJson) {
  const Timeline t = main_and_sink();
  PerfettoOptions o;
  o.process_name = "prog\xff\xfe";
  o.pid = 7;
  const std::string path = (dir / "trace.json").string();
  auto files = write_perfetto_json(path, t, *symbols, s->info, o);
  ASSERT_TRUE(files) << files.error().message;
  const json trace = read(path);
  bool found = false;
  for (const json& m : of_phase(trace, "M"))
    if (m["name"] == "process_name") found = m["args"]["name"] == "prog\xEF\xBF\xBD\xEF\xBF\xBD (pid 7)";
  EXPECT_TRUE(found);
}

TEST_F(OutputPerfetto, UnwritablePathIsAnError) {
  const Timeline t = main_and_sink();
  auto files = write_perfetto_json((dir / "no" / "such" / "dir.json").string(), t, *symbols, s->info, {});
  ASSERT_FALSE(files);
  EXPECT_NE(files.error().message.find("cannot write"), std::string::npos) << files.error().message;
}

// 20 goroutines alternating 50µs running / 200µs blocked on a mutex for 100 ms, one
// long-blocked goroutine, wake-ups between neighbours: ~31k trace events, split in parts.
TEST_F(OutputPerfetto, LargeTimelineSplitsIntoStandaloneParts) {
  constexpr int64_t kEnd = 100 * kMs;
  Timeline t;
  t.start_ns = kT0;
  t.end_ns = kT0 + kEnd;
  const uint32_t lock_reason = s->reason("sync.Mutex.Lock");
  for (uint64_t goid = 1; goid <= 20; goid++) {
    GoroutineTrack tr;
    tr.goid = goid;
    tr.start_pc = s->entry("main.main.func4");
    for (int64_t at = 0; at < kEnd; at += 250 * kUs) {
      const int64_t offset = static_cast<int64_t>(goid) * kUs;  // not all at once
      tr.segments.push_back(
          {kT0 + at + offset, kT0 + at + offset + 50 * kUs, state::GoroutineState::kRunning});
      Segment b{kT0 + at + offset + 50 * kUs, kT0 + std::min(at + offset + 250 * kUs, kEnd),
                state::GoroutineState::kBlocked};
      b.wait_reason = lock_reason;
      b.object = kMutex;
      b.object_kind = model::ObjectKind::kMutex;
      tr.segments.push_back(b);
      if (goid > 1)
        t.flows.push_back({Flow::Kind::kWake, goid - 1, kT0 + at + offset, goid, kT0 + at + offset + kUs});
    }
    t.tracks.push_back(tr);
  }
  GoroutineTrack sleeper;  // blocked the whole time: a piece in every part
  sleeper.goid = 99;
  sleeper.segments.push_back({kT0, kT0 + kEnd, state::GoroutineState::kBlocked});
  t.tracks.push_back(sleeper);
  std::sort(t.flows.begin(), t.flows.end(),
            [](const Flow& a, const Flow& b) { return a.from_ns < b.from_ns; });
  for (int64_t at = 0; at <= kEnd; at += kMs)
    t.counters.push_back({kT0 + at, 21, static_cast<uint64_t>(at / kMs % 21)});

  PerfettoOptions o;
  o.process_name = "bench";
  o.pid = 1;
  o.max_events_per_file = 5000;
  const std::string path = (dir / "big.json").string();
  auto files = write_perfetto_json(path, t, *symbols, s->info, o);
  ASSERT_TRUE(files) << files.error().message;
  ASSERT_GE(files->size(), 7u);  // 16k slices + 15.2k flow events + 202 counter events, by 5000
  EXPECT_EQ((*files)[0], path);
  EXPECT_EQ((*files)[1], (dir / "big.part2.json").string());

  std::map<int64_t, int64_t> busy_ns;  // per goroutine, the slices' durations in all parts
  std::set<int64_t> flow_ids;
  std::set<double> counter_times;
  size_t cut = 0;
  for (const std::string& file : *files) {
    SCOPED_TRACE(file);
    const json part = read(file);
    EXPECT_LE(part["traceEvents"].size(), o.max_events_per_file);
    std::set<int64_t> named;
    for (const json& m : of_phase(part, "M"))
      if (m["name"] == "thread_name") named.insert(m["tid"].get<int64_t>());
    EXPECT_EQ(named.size(), 21u);  // every part has every track's name
    for (const json& x : of_phase(part, "X")) {
      busy_ns[x["tid"]] += std::llround(x["dur"].get<double>() * 1000);
      cut += x["args"].contains("cut");
    }
    std::set<int64_t> starts, ends;
    for (const json& f : of_phase(part, "s")) starts.insert(f["id"].get<int64_t>());
    for (const json& f : of_phase(part, "f")) ends.insert(f["id"].get<int64_t>());
    EXPECT_EQ(starts, ends);  // each arrow whole in one part
    for (int64_t id : starts) EXPECT_TRUE(flow_ids.insert(id).second) << "flow " << id << " in two parts";
    for (const json& c : of_phase(part, "C")) counter_times.insert(c["ts"].get<double>());
  }
  EXPECT_GE(cut, files->size());  // at least the sleeper's pieces, one per part
  for (const GoroutineTrack& tr : t.tracks) {
    int64_t total = 0;
    for (const Segment& seg : tr.segments) total += seg.end_ns - seg.start_ns;
    EXPECT_EQ(busy_ns[static_cast<int64_t>(tr.goid)], total) << "G" << tr.goid;
  }
  EXPECT_EQ(flow_ids.size(), t.flows.size());
  for (const CounterSample& c : t.counters)
    EXPECT_TRUE(counter_times.count(static_cast<double>(c.time_ns - kT0) / 1000)) << c.time_ns;
}

}  // namespace
}  // namespace goscope::output
