// `goscope probe`'s hit lines, text and JSON, on hand-made hits of a PIE process
// symbolized by a fake CodeInfo: time since the start, the caller named at its call
// instruction (with what is inlined there), an unknown caller shown as its address.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fake_code_info.h"
#include "model/probe_hit.h"
#include "output/probe_hits.h"

namespace goscope::output {
namespace {

constexpr uint64_t kBias = 0x555500000000;
constexpr int64_t kStart = 5'000'000'000;

std::shared_ptr<const state::CodeInfo> code() {
  using F = testing::FakeCodeInfo::Function;
  F worker{"main.worker", "/src/app/main.go", 0x402000, 0x402100, 10};
  worker.inlined_name = "main.helper";
  worker.inlined_file = "/src/app/util.go";
  worker.inlined_start = 0x402040;
  worker.inlined_end = 0x402050;
  worker.inlined_line = 5;
  return std::make_shared<testing::FakeCodeInfo>(
      std::vector<F>{{"main.target", "/src/app/target.go", 0x401000, 0x401100, 3}, worker});
}

model::ProbeHit hit(uint64_t return_vaddr) {
  model::ProbeHit h;
  h.ktime_ns = kStart + 1'500'000'000;
  h.tid = 77;
  h.goid = 9;
  h.function = "main.target";
  h.ip = kBias + 0x401004;
  h.load_bias = kBias;
  h.return_address = kBias + return_vaddr;
  h.args = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  return h;
}

std::string print(const ProbeHitPrinter& p, const model::ProbeHit& h) {
  char* buf = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&buf, &size);
  p.print(f, h);
  std::fclose(f);
  std::string s(buf, size);
  std::free(buf);
  return s;
}

TEST(OutputProbeHits, TextNamesTheCallerWithItsInlinedCalls) {
  const ProbeHitPrinter p(code(), kStart, false);
  EXPECT_EQ(print(p, hit(0x402045)),
            "    1.500000  tid 77      goid 9      main.target  args 0x1 0x2 0x3\n"
            "              from main.worker (/src/app/main.go:78) via inlined main.helper\n");
  EXPECT_EQ(print(p, hit(0x402011)),
            "    1.500000  tid 77      goid 9      main.target  args 0x1 0x2 0x3\n"
            "              from main.worker (/src/app/main.go:26)\n");
}

TEST(OutputProbeHits, AnUnknownCallerIsItsAddress) {
  const ProbeHitPrinter p(code(), kStart, false);
  model::ProbeHit h = hit(0);
  h.return_address = 0x7f0000001000;
  EXPECT_EQ(p.describe_caller(h), "");
  EXPECT_EQ(print(p, h),
            "    1.500000  tid 77      goid 9      main.target  args 0x1 0x2 0x3\n"
            "              from 0x7f0000001000\n");
}

TEST(OutputProbeHits, JsonOneObjectALine) {
  const ProbeHitPrinter p(code(), kStart, true);
  const std::string line = print(p, hit(0x402045));
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(nlohmann::json::parse(line),
            nlohmann::json({{"t", 1.5},
                            {"tid", 77},
                            {"goid", 9},
                            {"func", "main.target"},
                            {"ip", "0x555500401004"},
                            {"caller", "0x555500402045"},
                            {"caller_func", "main.worker (/src/app/main.go:78) via inlined main.helper"},
                            {"args", {"0x1", "0x2", "0x3", "0x4"}}}));
}

}  // namespace
}  // namespace goscope::output
