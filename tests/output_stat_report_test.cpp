// goscope stat's text and JSON from hand-made results: perf stat's rows (values,
// msec, derived metrics, <not supported>, multiplexing), the note said once, the
// tables (threads, goroutines by the sort counter, creation sites summed), and
// the JSON schema of output/stat_report.h.
#include "output/stat_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace goscope::output {
namespace {

using model::CounterInfo;
using model::CounterState;
using model::CounterValue;
using model::GoroutineCounts;
using model::StatResult;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMs = 1'000'000;
constexpr uint64_t kEnabled = 3'000'000'000;

// perf stat's default set, in goscope's order (loader::default_counters()).
std::vector<CounterInfo> counters() {
  auto software = [](const char* name, bool time = false) { return CounterInfo{name, 1, 0, false, time}; };
  auto hardware = [](const char* name) { return CounterInfo{name, 0, 0, true, false}; };
  return {software("task-clock", true),
          software("context-switches"),
          software("cpu-migrations"),
          software("page-faults"),
          hardware("cycles"),
          hardware("instructions"),
          hardware("cache-references"),
          hardware("cache-misses"),
          hardware("branches"),
          hardware("branch-misses"),
          hardware("stalled-cycles-frontend"),
          hardware("stalled-cycles-backend")};
}

CounterValue counted(uint64_t raw, uint64_t running = kEnabled) {
  return {CounterState::kCounted, raw, kEnabled, running};
}
CounterValue not_supported() {
  return {CounterState::kNotSupported, 0, 0, 0};
}

// Four software values, then the eight hardware ones not supported.
std::vector<CounterValue> software_values(uint64_t task_clock_ns, uint64_t switches, uint64_t migrations,
                                          uint64_t faults) {
  std::vector<CounterValue> v = {counted(task_clock_ns), counted(switches), counted(migrations),
                                 counted(faults)};
  v.resize(12, not_supported());
  return v;
}

GoroutineCounts goroutine(uint64_t goid, std::string created_at, std::string function, uint64_t task_clock_ns,
                          uint64_t switches, std::string current, std::string state) {
  GoroutineCounts g;
  g.goid = goid;
  g.created_at = std::move(created_at);
  g.function = std::move(function);
  g.current = std::move(current);
  g.state = std::move(state);
  g.slices = switches + 1;
  g.samples = task_clock_ns / (10 * kMs);
  g.values = software_values(task_clock_ns, switches, 0, 1);
  return g;
}

const char* kPmuNote =
    "this machine has no hardware PMU (a virtual machine?): hardware counters read <not supported>";

// A server on a machine without a PMU: 2,003.51 ms of CPU in 3.0035 s.
StatResult no_pmu() {
  StatResult r;
  r.pid = 4242;
  r.command = "./server";
  r.go_version = "go1.22.12";
  r.duration_ns = 3'003'512'345;
  r.counters = counters();
  r.hardware_pmu = false;
  r.pmu_note = kPmuNote;
  r.process = software_values(2'003'510'000, 412, 3, 120);
  r.threads = {{4243, "worker", true, software_values(503'510'000, 112, 1, 20)},
               {4242, "server", false, software_values(1'500'000'000, 300, 2, 100)}};
  r.per_goroutine = true;
  // Given in no particular order; g19 and g18 share a site, as do the runtime's g1 and g2.
  r.goroutines = {
      goroutine(1, "", "runtime.main", 50 * kMs, 20, "main.main", "chan receive"),
      goroutine(19, "main.main (main.go:42)", "main.burn", 512 * kMs, 40, "main.spin", "running"),
      goroutine(2, "", "runtime.gcBgMarkWorker", 10 * kMs, 30, "", "GC worker (idle)"),
      goroutine(18, "main.main (main.go:42)", "main.burn", 967'420'000, 12, "main.spin", "running"),
      goroutine(20, "main.main (main.go:50)", "main.(*Server).serveConnectionWithAVeryLongName.func1",
                100 * kMs, 300, "main.(*Server).serveConnectionWithAVeryLongName.func1", "IO wait"),
  };
  r.unattributed = software_values(364'090'000, 10, 3, 89);
  r.samples = 163;
  r.lost_samples = 2;
  r.notes = {kPmuNote, "goroutine 7 exited before its counters were read"};
  return r;
}

// The same process on a machine with a PMU that multiplexed cycles and instructions
// (counted 62.5% of the time), never scheduled the frontend stalls, and has no backend ones.
StatResult with_pmu() {
  StatResult r = no_pmu();
  r.hardware_pmu = true;
  r.pmu_note.clear();
  r.notes = {};
  r.process[4] = counted(5'000'000'000, 1'875'000'000);  // scaled: 8e9
  r.process[5] = counted(6'000'000'000, 1'875'000'000);  // scaled: 9.6e9
  r.process[6] = counted(100'000'000);
  r.process[7] = counted(12'340'000);
  r.process[8] = counted(1'000'000'000);
  r.process[9] = counted(12'300'000);
  r.process[10] = {CounterState::kNotCounted, 0, kEnabled, 0};
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

// Terminal columns of a line: "…" is three bytes and one column.
size_t columns_of(const std::string& line) {
  return static_cast<size_t>(std::count_if(
      line.begin(), line.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// The index of the first line starting with `prefix` after line `from`; -1 when none.
int line_starting(const std::vector<std::string>& lines, const std::string& prefix, int from = 0) {
  for (int i = from; i < static_cast<int>(lines.size()); i++)
    if (lines[i].rfind(prefix, 0) == 0) return i;
  return -1;
}

TEST(OutputStatReport, SortCounterIsTaskClockWhenCounted) {
  StatResult r = no_pmu();
  EXPECT_EQ(stat_sort_counter(r), 0);
  r.process[0].state = CounterState::kNotSupported;
  EXPECT_EQ(stat_sort_counter(r), 1);  // the first counted one
  for (auto& v : r.process) v.state = CounterState::kNotCounted;
  EXPECT_EQ(stat_sort_counter(r), -1);
  // task-clock later in the list still wins.
  StatResult pmu = with_pmu();
  std::swap(pmu.counters[0], pmu.counters[4]);
  std::swap(pmu.process[0], pmu.process[4]);
  EXPECT_EQ(stat_sort_counter(pmu), 4);
}

TEST(OutputStatReport, TextWithoutPmuIsPerfStats) {
  const std::string text = stat_text(no_pmu());
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 18u) << text;
  EXPECT_EQ(lines[0], " Performance counter stats for process 4242 (./server), 3.00 s:");
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2], "          2,003.51 msec task-clock                #    0.667 CPUs utilized");
  EXPECT_EQ(lines[3], "               412      context-switches          #  137.173 /sec");
  EXPECT_EQ(lines[4], "                 3      cpu-migrations            #    0.999 /sec");
  EXPECT_EQ(lines[5], "               120      page-faults               #   39.953 /sec");
  EXPECT_EQ(lines[6], "   <not supported>      cycles");
  EXPECT_EQ(lines[7], "   <not supported>      instructions");
  EXPECT_EQ(lines[13], "   <not supported>      stalled-cycles-backend");
  EXPECT_EQ(lines[14], "");
  EXPECT_EQ(lines[15], "       3.003512345 seconds time elapsed");
  EXPECT_EQ(lines[16], "");
  EXPECT_EQ(lines[17], std::string("note: ") + kPmuNote);
  // Said once, though the notes repeat it.
  EXPECT_EQ(count_of(text, kPmuNote), 1u) << text;
  EXPECT_THAT(text, HasSubstr("\nnote: goroutine 7 exited before its counters were read\n"));
  EXPECT_THAT(text, HasSubstr("\nCPU samples: 163 (2 samples or counter records lost)\n"));
  EXPECT_THAT(text, Not(HasSubstr("insn per cycle")));
  for (const auto& line : lines) EXPECT_LE(columns_of(line), 120u) << line;
}

TEST(OutputStatReport, TextWithPmuHasMetricsAndMultiplexing) {
  const std::string text = stat_text(with_pmu());
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 16u) << text;
  // 8e9 cycles (5e9 counted 62.5% of the time) over 2,003.51 ms of CPU.
  // The metric padded to perf's 35 columns, then the share of the time it was counted.
  EXPECT_EQ(lines[6],
            "     8,000,000,000      cycles                    #    3.993 GHz                      (62.50%)");
  EXPECT_EQ(lines[7],
            "     9,600,000,000      instructions              #    1.20  insn per cycle           (62.50%)");
  EXPECT_EQ(lines[8], "       100,000,000      cache-references");
  EXPECT_EQ(lines[9], "        12,340,000      cache-misses              #   12.34% of all cache refs");
  EXPECT_EQ(lines[10], "     1,000,000,000      branches");
  EXPECT_EQ(lines[11], "        12,300,000      branch-misses             #    1.23% of all branches");
  EXPECT_EQ(lines[12], "     <not counted>      stalled-cycles-frontend");
  EXPECT_EQ(lines[13], "   <not supported>      stalled-cycles-backend");
  EXPECT_EQ(lines[15], "       3.003512345 seconds time elapsed");
  EXPECT_THAT(text, Not(HasSubstr("note: this machine")));
  EXPECT_EQ(count_of(text, "(62.50%)"), 2u);
}

TEST(OutputStatReport, FrontendStallsShareOfCycles) {
  StatResult r = with_pmu();
  r.process[10] = counted(2'000'000'000);
  r.process[11] = counted(1'000'000'000);
  const std::string text = stat_text(r);
  EXPECT_THAT(
      text,
      HasSubstr("\n     2,000,000,000      stalled-cycles-frontend   #   25.00% frontend cycles idle\n"));
  EXPECT_THAT(
      text,
      HasSubstr("\n     1,000,000,000      stalled-cycles-backend    #   12.50% backend cycles idle\n"));
}

TEST(OutputStatReport, ThreadsGoroutinesAndSites) {
  StatTextOptions options;
  options.top = 3;
  const std::string text = stat_text(no_pmu(), options);
  const auto lines = lines_of(text);

  // Threads by tid, counted columns only, exited ones marked.
  const int threads = line_starting(lines, "Per thread:");
  ASSERT_GE(threads, 0) << text;
  EXPECT_EQ(lines[threads + 1], "   tid  name              task-clock  ctx-sw  migrations  faults");
  EXPECT_EQ(lines[threads + 2], "  4242  server           1,500.00 ms     300           2     100");
  EXPECT_EQ(lines[threads + 3], "  4243  worker (exited)    503.51 ms     112           1      20");
  EXPECT_THAT(text, Not(HasSubstr("cycles  ")));  // no column for what was not counted

  // Goroutines by task-clock with their share of the process's 2,003.51 ms; four counters
  // and the names do not fit in one table of 120 columns: numbers first, then names.
  const int top = line_starting(lines, "Top goroutines by task-clock (top 3 of 5):");
  ASSERT_GE(top, 0) << text;
  EXPECT_EQ(lines[top + 1], "  goid  share  task-clock  ctx-sw  migrations  faults  slices  samples  state");
  EXPECT_EQ(lines[top + 2],
            "    18  48.3%   967.42 ms      12           0       1      13       96  running");
  EXPECT_EQ(lines[top + 3],
            "    19  25.6%   512.00 ms      40           0       1      41       51  running");
  EXPECT_EQ(lines[top + 4],
            "    20   5.0%   100.00 ms     300           0       1     301       10  IO wait");
  EXPECT_EQ(lines[top + 5], "");
  EXPECT_THAT(lines[top + 6], ::testing::MatchesRegex("  goid  function +created at +current"));
  EXPECT_THAT(lines[top + 7],
              ::testing::MatchesRegex("    18  main.burn +main.main \\(main.go:42\\)  main.spin"));
  // Long names are cut from the left to keep the table in 120 columns.
  EXPECT_EQ(lines[top + 9],
            "    20  …er).serveConnectionWithAVeryLongName.func1  main.main (main.go:50)  "
            "…er).serveConnectionWithAVeryLongName.func1");
  EXPECT_EQ(lines[top + 10], "  ... 2 more goroutines (all in the JSON output)");

  // Sites: g18 + g19 and the runtime's g1 + g2 summed.
  const int sites = line_starting(lines, "By creation site");
  ASSERT_GE(sites, 0) << text;
  EXPECT_EQ(lines[sites + 1],
            "  created at              goroutines   task-clock  ctx-sw  migrations  faults  share");
  EXPECT_EQ(lines[sites + 2],
            "  main.main (main.go:42)           2  1,479.42 ms      52           0       2  73.8%");
  EXPECT_EQ(lines[sites + 3],
            "  main.main (main.go:50)           1    100.00 ms     300           0       1   5.0%");
  EXPECT_EQ(lines[sites + 4],
            "  (runtime)                        2     60.00 ms      50           0       2   3.0%");

  const int unattributed = line_starting(lines, "Unattributed");
  ASSERT_GE(unattributed, 0) << text;
  EXPECT_EQ(
      lines[unattributed + 1],
      "  task-clock 364.09 ms   context-switches 10   cpu-migrations 3   page-faults 89   (18.2% of the "
      "process's task-clock)");
  for (const auto& line : lines) EXPECT_LE(columns_of(line), 120u) << line;
}

TEST(OutputStatReport, OneGoroutineTableWhenItFits) {
  StatResult r = no_pmu();
  r.counters.resize(1);  // task-clock only
  auto keep_first = [](std::vector<CounterValue>& v) { v.resize(1); };
  keep_first(r.process);
  keep_first(r.unattributed);
  for (auto& t : r.threads) keep_first(t.values);
  for (auto& g : r.goroutines) keep_first(g.values);
  StatTextOptions options;
  options.top = 2;
  const auto lines = lines_of(stat_text(r, options));
  const int top = line_starting(lines, "Top goroutines by task-clock (top 2 of 5):");
  ASSERT_GE(top, 0);
  EXPECT_THAT(lines[top + 1],
              ::testing::MatchesRegex(
                  "  goid  share  task-clock  slices  samples  created at +function +current \\(state\\)"));
  EXPECT_THAT(lines[top + 2], ::testing::MatchesRegex(
                                  "    18  48.3%   967.42 ms      13       96  main.main \\(main.go:42\\)  "
                                  "main.burn +main.spin \\(running\\)"));
  EXPECT_EQ(lines[top + 4], "  ... 3 more goroutines (all in the JSON output)");
}

TEST(OutputStatReport, WideTablesLeaveColumnsOutAndSayWhich) {
  StatResult r = with_pmu();
  for (auto& t : r.threads) t.values = r.process;
  const std::string text = stat_text(r);
  for (const auto& line : lines_of(text)) EXPECT_LE(columns_of(line), 120u) << line;
  // Threads: tid, name, and as many of the 11 counted counters as fit.
  EXPECT_THAT(text, HasSubstr("\n  (left out to fit: br-miss; every counter is in the JSON output)\n"));
}

TEST(OutputStatReport, WithoutPerGoroutineAttributionOnlyTheNote) {
  StatResult r = no_pmu();
  r.per_goroutine = false;
  r.goroutines.clear();
  r.per_goroutine_note = "per-goroutine counters need Go >= 1.19 runtime symbols";
  const std::string text = stat_text(r);
  EXPECT_THAT(text, Not(HasSubstr("Top goroutines")));
  EXPECT_THAT(text, Not(HasSubstr("Unattributed")));
  EXPECT_THAT(text, HasSubstr("\nnote: per-goroutine counters need Go >= 1.19 runtime symbols\n"));
  StatTextOptions no_threads;
  no_threads.per_thread = false;
  EXPECT_THAT(stat_text(r, no_threads), Not(HasSubstr("Per thread")));
}

TEST(OutputStatReport, JsonHasTheDocumentedFields) {
  const auto j = nlohmann::json::parse(stat_json(with_pmu()));
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["command"], "./server");
  EXPECT_EQ(j["go_version"], "go1.22.12");
  EXPECT_EQ(j["duration_ns"], 3'003'512'345);
  EXPECT_EQ(j["pmu"]["hardware"], true);
  EXPECT_EQ(j["pmu"]["note"], "");
  ASSERT_EQ(j["counters"].size(), 12u);
  EXPECT_EQ(j["counters"][0], (nlohmann::json{{"name", "task-clock"}, {"hardware", false}, {"unit", "ns"}}));
  EXPECT_EQ(j["counters"][4], (nlohmann::json{{"name", "cycles"}, {"hardware", true}, {"unit", "count"}}));

  const auto& process = j["process"];
  EXPECT_EQ(process["task-clock"], (nlohmann::json{{"state", "counted"},
                                                   {"value", 2'003'510'000},
                                                   {"raw", 2'003'510'000},
                                                   {"enabled_ns", kEnabled},
                                                   {"running_ns", kEnabled}}));
  EXPECT_TRUE(process["task-clock"]["value"].is_number_integer());
  EXPECT_EQ(process["cycles"]["state"], "counted");
  EXPECT_DOUBLE_EQ(process["cycles"]["value"].get<double>(), 8e9);
  EXPECT_EQ(process["cycles"]["raw"], 5'000'000'000u);
  EXPECT_EQ(process["cycles"]["running_ns"], 1'875'000'000u);
  EXPECT_EQ(process["stalled-cycles-frontend"]["state"], "not counted");
  EXPECT_FALSE(process["stalled-cycles-frontend"].contains("value"));
  EXPECT_EQ(process["stalled-cycles-backend"]["state"], "not supported");
  EXPECT_FALSE(process["stalled-cycles-backend"].contains("value"));

  ASSERT_EQ(j["threads"].size(), 2u);
  EXPECT_EQ(j["threads"][0]["tid"], 4242);  // by tid
  EXPECT_EQ(j["threads"][0]["exited"], false);
  EXPECT_EQ(j["threads"][1]["tid"], 4243);
  EXPECT_EQ(j["threads"][1]["name"], "worker");
  EXPECT_EQ(j["threads"][1]["exited"], true);
  EXPECT_EQ(j["threads"][1]["counters"]["context-switches"]["value"], 112);

  EXPECT_EQ(j["per_goroutine"], true);
  EXPECT_EQ(j["per_goroutine_note"], "");
  // Every goroutine, by task-clock.
  ASSERT_EQ(j["goroutines"].size(), 5u);
  std::vector<uint64_t> order;
  for (const auto& g : j["goroutines"]) order.push_back(g["goid"]);
  EXPECT_EQ(order, (std::vector<uint64_t>{18, 19, 20, 1, 2}));
  const auto& g18 = j["goroutines"][0];
  EXPECT_EQ(g18["created_at"], "main.main (main.go:42)");
  EXPECT_EQ(g18["function"], "main.burn");
  EXPECT_EQ(g18["current"], "main.spin");
  EXPECT_EQ(g18["state"], "running");
  EXPECT_EQ(g18["slices"], 13);
  EXPECT_EQ(g18["samples"], 96);
  EXPECT_EQ(g18["counters"]["task-clock"]["value"], 967'420'000);

  ASSERT_EQ(j["sites"].size(), 3u);
  EXPECT_EQ(j["sites"][0]["created_at"], "main.main (main.go:42)");
  EXPECT_EQ(j["sites"][0]["goroutines"], 2);
  EXPECT_EQ(j["sites"][0]["counters"]["task-clock"]["value"], 1'479'420'000);
  EXPECT_EQ(j["sites"][0]["counters"]["cycles"]["state"], "not supported");  // not supported by any
  EXPECT_EQ(j["sites"][2]["created_at"], "");
  EXPECT_EQ(j["sites"][2]["counters"]["context-switches"]["value"], 50);

  EXPECT_EQ(j["unattributed"]["task-clock"]["value"], 364'090'000);
  EXPECT_EQ(j["samples"], 163);
  EXPECT_EQ(j["lost_samples"], 2);
  EXPECT_EQ(j["notes"], nlohmann::json::array());
}

TEST(OutputStatReport, JsonKeepsNonUtf8Names) {
  StatResult r = no_pmu();
  r.threads[1].name = "bad\xff";  // tid 4242
  const auto j = nlohmann::json::parse(stat_json(r));
  EXPECT_EQ(j["threads"][0]["name"], "bad\xef\xbf\xbd");
  EXPECT_EQ(stat_json(r).back(), '\n');
}

}  // namespace
}  // namespace goscope::output
