// The CPU profile from synthetic kCpuSample events whose stacks are real addresses
// of the pipeline test program: merged samples and labels, folded stacks, the
// latest function per goroutine; then every toolchain of the matrix reads the
// profile written over its own build with `go tool pprof`, without the binary.
#include "output/cpu_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "state/stack_symbolizer.h"
#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::output {
namespace {

namespace fs = std::filesystem;
using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kPeriod = 10 * kMs;  // 100 Hz
constexpr int64_t kT0 = 7'000 * kMs;   // the session starts here

// Goroutines of the stream (pipeline's roles).
constexpr uint64_t kMain = 1;
constexpr uint64_t kSquare = 5;
constexpr uint64_t kSink = 7;
constexpr uint64_t kSink2 = 8;

// Stacks and samples of one toolchain's build of pipeline.
class Samples {
 public:
  explicit Samples(const std::string& version) : s("pipeline", version) {
    if (!s.ok()) return;
    symbols = std::make_shared<state::StackSymbolizer>(*s.binary, s.stacks);
    const int sum_line = s.source_line(R"(^\t\t\tsum \+= v$)");
    // The sink's loop: a sampled instruction (exact) in the middle of the function.
    const uint64_t sum_pc = s.call_at("main.main.func4", sum_line) - 1;
    sink = s.stack({sum_pc, s.in("runtime.goexit")});
    // Sampled at the first instruction of the square worker: at pc - 1 it would be
    // the function before it.
    square = s.stack({s.entry("main.main.func2"), s.in("runtime.goexit")});
    // In the kernel under chanrecv1, called by main.main's last instruction: the
    // return address is the next function's entry, and only pc - 1 is main.main.
    recv = s.stack({s.entry("runtime.chanrecv1"), end_of("main.main")});
  }
  bool ok() const { return symbols != nullptr; }

  uint64_t end_of(const std::string& function) const {
    const auto& tab = s.binary->pclntab();
    auto idx = tab.function_named(function);
    if (!idx) {
      ADD_FAILURE() << "no function " << function;
      return 0;
    }
    return tab.function_end(*idx);
  }

  ProfileContext context() const {
    ProfileContext ctx;
    ctx.symbols = symbols.get();
    ctx.stream = &s.info;
    ctx.exe_name = "/srv/pipeline";
    ctx.build_id = "c0ffee";
    ctx.start_ns = kT0;
    ctx.start_unix_ns = 1'700'000'000'000'000'000;
    return ctx;
  }

  static Event sample(uint64_t goid, int64_t t, model::StackId stack, int64_t cpu_ns = kPeriod,
                      uint16_t flags = 0) {
    Event e = SyntheticEvents::event(EventKind::kCpuSample, goid, t, stack);
    e.value = cpu_ns;
    e.value2 = 1;  // the CPU
    e.flags = flags;
    return e;
  }

  // 14 samples, 135 ms: the sink's loop 7 times (g7 six, g8 once), the square worker
  // 4 times (g5 three, g7 once: g7's latest), main in the kernel twice (one 5 ms
  // sample), and one runtime tick without a stack. One of g7's arrives late.
  std::vector<Event> stream() const {
    std::vector<Event> out;
    int64_t t = kT0 + kMs;
    for (int i = 0; i < 5; i++) out.push_back(sample(kSink, t += kPeriod, sink));
    out.push_back(sample(kSink2, t += kPeriod, sink));
    for (int i = 0; i < 3; i++) out.push_back(sample(kSquare, t += kPeriod, square));
    out.push_back(sample(kMain, t += kPeriod, recv, 5 * kMs, model::kInKernel));
    out.push_back(sample(kMain, t += kPeriod, recv, kPeriod, model::kInKernel | model::kSystemStack));
    out.push_back(sample(0, t += kPeriod, 0));
    out.push_back(sample(kSink, t += kPeriod, square));
    out.push_back(sample(kSink, kT0 + 40 * kMs, sink));  // delivered late
    return out;
  }

  SyntheticEvents s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  model::StackId sink = 0, square = 0, recv = 0;
};

std::string label(const Sample& s, const std::string& key) {
  for (const auto& [k, v] : s.labels)
    if (k == key) return v;
  return "";
}

// The function names of a sample's stack, leaf first, inlined frames included.
std::vector<std::string> functions(const Sample& s) {
  std::vector<std::string> out;
  for (const Location& l : s.stack)
    for (const Line& line : l.lines) out.push_back(line.function);
  return out;
}

class OutputCpuProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    samples = std::make_unique<Samples>("1.22");
    ASSERT_TRUE(samples->ok());
  }
  CpuProfile feed() const {
    CpuProfile p(samples->context(), samples->s.stacks);
    for (const Event& e : samples->stream()) p.on_event(e);
    return p;
  }
  std::unique_ptr<Samples> samples;
};

TEST_F(OutputCpuProfile, CountsSamplesAndCpuTime) {
  CpuProfile p = feed();
  Event other = Samples::sample(kSink, kT0, samples->sink);
  other.kind = EventKind::kPark;  // not a sample: ignored
  p.on_event(other);
  EXPECT_EQ(p.samples(), 14u);
  EXPECT_EQ(p.cpu_ns(), 135 * kMs);
}

TEST_F(OutputCpuProfile, SamplesMergePerGoroutineStackAndKernel) {
  const CpuProfile p = feed();
  const auto list = p.samples_list();
  ASSERT_EQ(list.size(), 6u);  // (g0, none) (g1, recv) (g5, square) (g7, sink) (g7, square) (g8, sink)
  int64_t samples = 0, cpu = 0;
  for (const Sample& s : list) {
    ASSERT_EQ(s.values.size(), 2u);
    samples += s.values[0];
    cpu += s.values[1];
  }
  EXPECT_EQ(samples, 14);
  EXPECT_EQ(cpu, 135 * kMs);

  const Sample& runtime = list[0];
  EXPECT_EQ(label(runtime, "goid"), "0");
  EXPECT_EQ(functions(runtime), std::vector<std::string>{"[unknown]"});
  const Sample& main = list[1];
  EXPECT_EQ(label(main, "goid"), "1");
  EXPECT_EQ(label(main, "in_kernel"), "true");
  EXPECT_EQ(main.values, (std::vector<int64_t>{2, 15 * kMs}));
  // The sampled pc exactly, the return address one byte back.
  EXPECT_EQ(functions(main), (std::vector<std::string>{"runtime.chanrecv1", "main.main"}));
  const Sample& sink = list[3];
  EXPECT_EQ(label(sink, "goid"), "7");
  EXPECT_EQ(label(sink, "in_kernel"), "");
  EXPECT_EQ(sink.values, (std::vector<int64_t>{6, 60 * kMs}));
  EXPECT_EQ(functions(sink), (std::vector<std::string>{"main.main.func4", "runtime.goexit"}));
  EXPECT_EQ(functions(list[2]), (std::vector<std::string>{"main.main.func2", "runtime.goexit"}));
}

TEST_F(OutputCpuProfile, FoldedCountsSamplesPerStack) {
  const CpuProfile p = feed();
  auto folded = p.folded();
  ASSERT_TRUE(folded) << folded.error().message;
  EXPECT_EQ(*folded,
            "[unknown] 1\n"
            "main.main;runtime.chanrecv1 2\n"
            "runtime.goexit;main.main.func2 4\n"
            "runtime.goexit;main.main.func4 7\n");
  const fs::path file = fs::path(testing::scratch_dir()) / "cpu.folded";
  ASSERT_TRUE(p.write_folded(file.string()));
  EXPECT_EQ(fs::file_size(file), folded->size());
}

TEST_F(OutputCpuProfile, ByGoroutineHasTheLatestLeaf) {
  const CpuProfile p = feed();
  const auto& by = p.by_goroutine();
  ASSERT_EQ(by.size(), 4u);  // no goid 0: not a goroutine
  EXPECT_EQ(by.at(kSink).samples, 7u);
  EXPECT_EQ(by.at(kSink).last_function, "main.main.func2");  // the late sample is older
  EXPECT_EQ(by.at(kSink2).samples, 1u);
  EXPECT_EQ(by.at(kSink2).last_function, "main.main.func4");
  EXPECT_EQ(by.at(kSquare).samples, 3u);
  EXPECT_EQ(by.at(kSquare).last_function, "main.main.func2");
  EXPECT_EQ(by.at(kMain).samples, 2u);
  EXPECT_EQ(by.at(kMain).last_function, "runtime.chanrecv1");
}

TEST(OutputCpuProfileGoTool, EveryToolchainReadsTheCpuProfile) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : testing::toolchains()) {
    SCOPED_TRACE("go " + tc.version);
    Samples samples(tc.version);
    ASSERT_TRUE(samples.ok());
    CpuProfile p(samples.context(), samples.s.stacks);
    p.set_sampling("cpu-clock", kPeriod);
    for (const Event& e : samples.stream()) p.on_event(e);
    const fs::path dir = fs::path(testing::scratch_dir()) / tc.version;
    fs::create_directories(dir);
    const fs::path file = dir / "cpu.pb.gz";
    auto written = p.write_pprof(file.string(), kT0 + 200 * kMs);
    ASSERT_TRUE(written) << written.error().message;

    // CPU time by default, totals as ours, the sink's loop on top.
    auto top = testing::go_tool_pprof(tc, "-top", file.string());
    ASSERT_EQ(top.exit_code, 0) << top.output;
    EXPECT_THAT(top.output, HasSubstr("Type: cpu\n")) << top.output;
    EXPECT_THAT(top.output, HasSubstr("Duration: 200ms, Total samples = 135ms (67.50%)")) << top.output;
    EXPECT_THAT(top.output, HasSubstr(", 100% of 135ms total")) << top.output;
    const size_t header = top.output.find("flat%");
    ASSERT_NE(header, std::string::npos) << top.output;
    const size_t first = top.output.find('\n', header) + 1;
    const std::string first_row = top.output.substr(first, top.output.find('\n', first) - first);
    EXPECT_THAT(first_row,
                ::testing::MatchesRegex(R"( +70ms 51\.85% 51\.85% +70ms 51\.85%  main\.main\.func4)"))
        << top.output;
    EXPECT_THAT(top.output, HasSubstr("main.main.func2\n"));
    EXPECT_THAT(top.output, HasSubstr("runtime.chanrecv1\n"));
    EXPECT_THAT(top.output, HasSubstr("[unknown]\n"));

    auto count = testing::go_tool_pprof(tc, "-top -sample_index=samples", file.string());
    ASSERT_EQ(count.exit_code, 0) << count.output;
    EXPECT_THAT(count.output, HasSubstr(", 100% of 14 total")) << count.output;

    auto raw = testing::go_tool_pprof(tc, "-raw", file.string());
    ASSERT_EQ(raw.exit_code, 0) << raw.output;
    EXPECT_THAT(raw.output, HasSubstr("PeriodType: cpu nanoseconds\nPeriod: 10000000\n")) << raw.output;
    EXPECT_THAT(raw.output, HasSubstr("samples/count cpu/nanoseconds[dflt]")) << raw.output;

    // Labels: one goroutine's share, and the kernel's.
    auto focus = testing::go_tool_pprof(tc, "-top -tagfocus=goid=^7$", file.string());
    ASSERT_EQ(focus.exit_code, 0) << focus.output;
    EXPECT_THAT(focus.output, HasSubstr("70ms, 51.85% of 135ms total")) << focus.output;
    EXPECT_THAT(focus.output, Not(HasSubstr("runtime.chanrecv1"))) << focus.output;
    auto tags = testing::go_tool_pprof(tc, "-tags -sample_index=samples", file.string());
    ASSERT_EQ(tags.exit_code, 0) << tags.output;
    // Older pprofs print counts as "7.0", newer ones "Total 14 of 14".
    auto has = [&](const char* re) { return std::regex_search(tags.output, std::regex(re)); };
    EXPECT_TRUE(has(R"(goid: Total 14\b)")) << tags.output;
    EXPECT_TRUE(has(R"( 7(\.0)? \(50\.00%\): 7\n)")) << tags.output;
    EXPECT_TRUE(has(R"( 2(\.0)? \(14\.29%\): 1\n)")) << tags.output;
    EXPECT_TRUE(has(R"( 1(\.0)? \( 7\.14%\): 0\n)")) << tags.output;
    EXPECT_TRUE(has(R"(in_kernel: Total 2\b)")) << tags.output;
    EXPECT_TRUE(has(R"( 2(\.0)? \( *[0-9.]+%\): true\n)")) << tags.output;

    // The return address at pc - 1 is main.main, with its line, from the profile alone.
    auto traces = testing::go_tool_pprof(tc, "-traces", file.string());
    ASSERT_EQ(traces.exit_code, 0) << traces.output;
    EXPECT_THAT(traces.output, HasSubstr("runtime.chanrecv1\n"
                                         "             main.main\n"))
        << traces.output;
    auto lines = testing::go_tool_pprof(tc, "-top -lines", file.string());
    ASSERT_EQ(lines.exit_code, 0) << lines.output;
    EXPECT_THAT(lines.output, HasSubstr("pipeline/main.go:" +
                                        std::to_string(samples.s.source_line(R"(^\t\t\tsum \+= v$)"))))
        << lines.output;
  }
}

}  // namespace
}  // namespace goscope::output
