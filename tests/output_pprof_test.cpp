// pprof writer: the wire encoding against hand-computed bytes, and whole
// profiles read back by the real reader, `go tool pprof`, of the oldest and the
// newest toolchain of the matrix.
#include "output/pprof.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "testprogs.h"

namespace goscope::output {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

std::vector<uint8_t> bytes(std::initializer_list<int> list) {
  return {list.begin(), list.end()};
}

// ---- wire format, hand-computed

TEST(OutputPprofEncoding, Varint) {
  ProtoEncoder e;
  e.varint(0);
  e.varint(1);
  e.varint(127);
  e.varint(128);  // 0b1'0000000: low seven bits first, continuation bit set
  e.varint(300);  // 0b10'0101100 -> 0xac 0x02, protobuf's own example
  EXPECT_EQ(e.bytes(), bytes({0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02}));

  ProtoEncoder max;
  max.varint(UINT64_MAX);  // 64 bits = 9 full groups of 7 + 1 bit
  EXPECT_EQ(max.bytes(), bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(OutputPprofEncoding, ScalarFields) {
  ProtoEncoder e;
  e.uint64_field(1, 150);  // key (1<<3|0)=0x08, 150 = 0x96 0x01
  e.uint64_field(2, 0);    // proto3 default: not written
  e.int64_field(16, 1);    // field 16: key 16<<3 = 128 needs two bytes 0x80 0x01
  e.bool_field(7, true);
  e.bool_field(8, false);
  EXPECT_EQ(e.bytes(), bytes({0x08, 0x96, 0x01, 0x80, 0x01, 0x01, 0x38, 0x01}));

  ProtoEncoder negative;
  negative.int64_field(2, -1);  // two's complement, ten bytes, no zigzag
  EXPECT_EQ(negative.bytes(), bytes({0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(OutputPprofEncoding, LengthDelimitedFields) {
  ProtoEncoder e;
  e.string_field(6, "");                             // key 6<<3|2 = 0x32, length 0: still written
  e.string_field(6, "go");                           // 0x32 0x02 'g' 'o'
  e.packed_field(1, std::vector<uint64_t>{1, 300});  // 0x0a, length 3, 0x01 0xac 0x02
  e.packed_field(2, std::vector<int64_t>{});         // empty: not written
  ProtoEncoder inner;
  inner.uint64_field(1, 5);
  e.message_field(4, inner);  // 0x22, length 2, 0x08 0x05
  EXPECT_EQ(e.bytes(),
            bytes({0x32, 0x00, 0x32, 0x02, 'g', 'o', 0x0a, 0x03, 0x01, 0xac, 0x02, 0x22, 0x02, 0x08, 0x05}));
}

TEST(OutputPprofEncoding, SmallestProfile) {
  ProfileBuilder b({ValueType{"goroutine", "count"}});
  ASSERT_TRUE(b.add_sample({.stack = {{.address = 0x10, .lines = {}}}, .values = {2}}));
  // string table: "" "goroutine" "count"
  // clang-format off
  EXPECT_EQ(b.encode(), bytes({
                            0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,  // sample_type {type 1, unit 2}
                            0x12, 0x06, 0x0a, 0x01, 0x01,        // sample {location_id [1]
                            0x12, 0x01, 0x02,                    //         value [2]}
                            0x22, 0x04, 0x08, 0x01, 0x18, 0x10,  // location {id 1, address 0x10}
                            0x32, 0x00,                          // string_table
                            0x32, 0x09, 'g', 'o', 'r', 'o', 'u', 't', 'i', 'n', 'e',  //
                            0x32, 0x05, 'c', 'o', 'u', 'n', 't',
                        }));
  // clang-format on
}

TEST(OutputPprofEncoding, RejectsWrongValueCount) {
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}});
  auto r = b.add_sample({.values = {1}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("one value per sample type"));
}

TEST(OutputPprofEncoding, GzipRoundTrips) {
  ProfileBuilder b({ValueType{"goroutine", "count"}});
  ASSERT_TRUE(b.add_sample({.stack = {{.address = 0x10, .lines = {}}}, .values = {1}}));
  auto gz = b.write();
  ASSERT_TRUE(gz) << gz.error().message;
  ASSERT_GE(gz->size(), 2u);
  EXPECT_EQ((*gz)[0], 0x1f);  // gzip magic, which is how pprof tells a gzip file
  EXPECT_EQ((*gz)[1], 0x8b);

  std::vector<uint8_t> raw = b.encode();
  std::vector<uint8_t> back(raw.size() + 16);
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = gz->data();
  z.avail_in = static_cast<uInt>(gz->size());
  z.next_out = back.data();
  z.avail_out = static_cast<uInt>(back.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  back.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(back, raw);
}

TEST(OutputPprofEncoding, WriteFileReportsErrors) {
  ProfileBuilder b({ValueType{"goroutine", "count"}});
  auto r = b.write_file("/nonexistent-dir/x.pb.gz");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent-dir/x.pb.gz"));
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

// ---- read back by go tool pprof

// Sample data shaped like what the tracer sees: a lock taken in an inlined
// sync.(*Mutex).Lock inside main.(*Store).Get, and a channel receive.
Line line(std::string function, std::string file, int64_t n) {
  return {std::move(function), "", std::move(file), n};
}

const Location kLockSite{0x401000,
                         {line("sync.(*Mutex).Lock", "/usr/lib/go/src/sync/mutex.go", 90),
                          line("main.(*Store).Get", "/src/app/store.go", 42)}};
const Location kHandler{0x402000, {line("main.handler", "/src/app/main.go", 17)}};
const Location kMain{0x403000, {line("main.main", "/src/app/main.go", 8)}};
const Location kChanRecv{0x404000, {line("runtime.chanrecv1", "/usr/lib/go/src/runtime/chan.go", 442)}};

std::vector<Sample> blocking_samples() {
  return {
      {.stack = {kLockSite, kHandler, kMain},
       .values = {3, 3'000'000},
       .labels = {{"goid", "7"}, {"wait_reason", "sync.Mutex.Lock"}}},
      {.stack = {kChanRecv, kHandler, kMain},
       .values = {1, 5'000'000},
       .labels = {{"goid", "9"}, {"wait_reason", "chan receive"}},
       .num_labels = {{"queued", 2, "bytes"}}},
      {.stack = {kLockSite, kHandler, kMain},
       .values = {2, 1'500'000},
       .labels = {{"goid", "8"}, {"wait_reason", "sync.Mutex.Lock"}}},
  };
}

Mapping main_binary() {
  return {.start = 0x400000,
          .limit = 0x800000,
          .offset = 0,
          .filename = "/srv/app",
          .build_id = "b1d0c0ffee",
          .has_functions = true,
          .has_filenames = true,
          .has_line_numbers = true,
          .has_inline_frames = true};
}

ProfileBuilder contention_profile() {  // block and mutex profiles have this shape
  ProfileBuilder b({{"contentions", "count"}, {"delay", "nanoseconds"}});
  b.set_period({"contentions", "count"}, 1);
  b.set_time(1'700'000'000'000'000'000, 2'000'000'000);
  b.set_mapping(main_binary());
  for (const Sample& s : blocking_samples()) EXPECT_TRUE(b.add_sample(s));
  return b;
}

// The oldest and newest toolchains: pprof's reader changed most between them.
std::vector<testing::Toolchain> oldest_and_newest() {
  const auto& all = testing::toolchains();
  if (all.empty()) return {};
  if (all.size() == 1) return {all.front()};
  return {all.front(), all.back()};
}

fs::path write_profile(const ProfileBuilder& b, const std::string& name) {
  fs::path path = fs::path(testing::scratch_dir()) / name;
  auto r = b.write_file(path.string());
  EXPECT_TRUE(r) << r.error().message;
  return path;
}

TEST(OutputPprofGoTool, BlockProfileTopTotals) {
  GS_REQUIRE_TESTPROGS();
  fs::path file = write_profile(contention_profile(), "block.pb.gz");
  for (const auto& tc : oldest_and_newest()) {
    SCOPED_TRACE("go " + tc.version);
    auto delay = testing::go_tool_pprof(tc, "-symbolize=none -top -sample_index=delay", file.string());
    ASSERT_EQ(delay.exit_code, 0) << delay.output;
    // 3ms + 5ms + 1.5ms, all of it in the leaf frames of two stacks.
    EXPECT_THAT(delay.output, HasSubstr("Type: delay"));
    EXPECT_THAT(delay.output, HasSubstr("of 9.50ms total"));
    EXPECT_THAT(delay.output, HasSubstr("runtime.chanrecv1"));
    EXPECT_THAT(delay.output, HasSubstr("sync.(*Mutex).Lock (inline)"));
    EXPECT_THAT(delay.output, HasSubstr("main.handler"));
    EXPECT_THAT(delay.output, Not(HasSubstr("rror")));

    auto count = testing::go_tool_pprof(tc, "-symbolize=none -top -sample_index=contentions", file.string());
    ASSERT_EQ(count.exit_code, 0) << count.output;
    EXPECT_THAT(count.output, HasSubstr("Type: contentions"));
    EXPECT_THAT(count.output, HasSubstr("of 6 total"));
  }
}

TEST(OutputPprofGoTool, MutexProfileTracesShowInlinedFramesAndLabels) {
  GS_REQUIRE_TESTPROGS();
  fs::path file = write_profile(contention_profile(), "mutex.pb.gz");
  for (const auto& tc : oldest_and_newest()) {
    SCOPED_TRACE("go " + tc.version);
    auto r = testing::go_tool_pprof(tc, "-symbolize=none -traces", file.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("Type: delay"));
    EXPECT_THAT(r.output, HasSubstr("Duration: 2s, Total samples = 9.50ms"));
    // Labels right-aligned above each stack, leaf first; the inlined Lock is
    // its own frame, above the function it was inlined into.
    EXPECT_THAT(r.output, HasSubstr("      goid:  7\n"
                                    "wait_reason:  sync.Mutex.Lock\n"
                                    "       3ms   sync.(*Mutex).Lock (inline)\n"
                                    "             main.(*Store).Get\n"
                                    "             main.handler\n"
                                    "             main.main\n"));
    EXPECT_THAT(r.output, HasSubstr("      goid:  9\n"
                                    "wait_reason:  chan receive\n"
                                    "    queued:  2B\n"
                                    "       5ms   runtime.chanrecv1\n"
                                    "             main.handler\n"
                                    "             main.main\n"));
    EXPECT_THAT(r.output, HasSubstr("      goid:  8\n"
                                    "wait_reason:  sync.Mutex.Lock\n"
                                    "    1.50ms   sync.(*Mutex).Lock (inline)\n"));
  }
}

TEST(OutputPprofGoTool, DefaultSampleType) {
  GS_REQUIRE_TESTPROGS();
  ProfileBuilder b = contention_profile();
  b.set_default_sample_type("contentions");  // pprof would pick the last type, delay
  fs::path file = write_profile(b, "default.pb.gz");
  for (const auto& tc : oldest_and_newest()) {
    SCOPED_TRACE("go " + tc.version);
    auto r = testing::go_tool_pprof(tc, "-symbolize=none -top", file.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("Type: contentions"));
    EXPECT_THAT(r.output, HasSubstr("of 6 total"));
  }
}

TEST(OutputPprofGoTool, RawShowsLocationsFunctionsAndMapping) {
  GS_REQUIRE_TESTPROGS();
  fs::path file = write_profile(contention_profile(), "raw.pb.gz");
  for (const auto& tc : oldest_and_newest()) {
    SCOPED_TRACE("go " + tc.version);
    auto r = testing::go_tool_pprof(tc, "-symbolize=none -raw", file.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("PeriodType: contentions count"));
    EXPECT_THAT(r.output, HasSubstr("Period: 1"));
    EXPECT_THAT(r.output, HasSubstr("contentions/count delay/nanoseconds"));
    // Samples point at four distinct locations: repeated ones were deduplicated.
    EXPECT_THAT(r.output, HasSubstr("          3    3000000: 1 2 3 \n"
                                    "                goid:[7] wait_reason:[sync.Mutex.Lock]\n"
                                    "          1    5000000: 4 2 3 \n"
                                    "                goid:[9] wait_reason:[chan receive]\n"
                                    "                queued:[2 bytes]\n"
                                    "          2    1500000: 1 2 3 \n"));
    // One location, two lines: the inlined Lock first. Newer pprof adds ":column".
    EXPECT_THAT(r.output,
                ContainsRegex("\n     1: 0x401000 M=1 sync\\.\\(\\*Mutex\\)\\.Lock "
                              "/usr/lib/go/src/sync/mutex\\.go:90(:0)? s=0\n"
                              "             main\\.\\(\\*Store\\)\\.Get /src/app/store\\.go:42(:0)? s=0\n"
                              "     2: 0x402000 M=1 main\\.handler /src/app/main\\.go:17"));
    EXPECT_THAT(
        r.output,
        ContainsRegex("\n     4: 0x404000 M=1 runtime\\.chanrecv1 /usr/lib/go/src/runtime/chan\\.go:442"));
    EXPECT_THAT(r.output, Not(HasSubstr("     5: ")));
    EXPECT_THAT(r.output,
                HasSubstr("Mappings\n1: 0x400000/0x800000/0x0 /srv/app b1d0c0ffee [FN][FL][LN][IN]"));
  }
}

TEST(OutputPprofGoTool, GoroutineProfile) {
  GS_REQUIRE_TESTPROGS();
  ProfileBuilder b({ValueType{"goroutine", "count"}});
  b.set_period({"goroutine", "count"}, 1);
  b.set_mapping(main_binary());
  for (int goid : {7, 8}) {
    ASSERT_TRUE(
        b.add_sample({.stack = {kLockSite, kHandler, kMain},
                      .values = {1},
                      .labels = {{"goid", std::to_string(goid)}, {"wait_reason", "sync.Mutex.Lock"}}}));
  }
  ASSERT_TRUE(b.add_sample({.stack = {kChanRecv, kMain},
                            .values = {1},
                            .labels = {{"goid", "1"}, {"wait_reason", "chan receive"}}}));
  fs::path file = write_profile(b, "goroutine.pb.gz");
  for (const auto& tc : oldest_and_newest()) {
    SCOPED_TRACE("go " + tc.version);
    auto top = testing::go_tool_pprof(tc, "-symbolize=none -top", file.string());
    ASSERT_EQ(top.exit_code, 0) << top.output;
    EXPECT_THAT(top.output, HasSubstr("Type: goroutine"));
    EXPECT_THAT(top.output, HasSubstr("of 3 total"));
    auto traces = testing::go_tool_pprof(tc, "-symbolize=none -traces", file.string());
    ASSERT_EQ(traces.exit_code, 0) << traces.output;
    EXPECT_THAT(traces.output, HasSubstr("      goid:  1\n"
                                         "wait_reason:  chan receive\n"
                                         "         1   runtime.chanrecv1\n"
                                         "             main.main\n"));
  }
}

TEST(OutputPprofGoTool, CpuProfile) {
  GS_REQUIRE_TESTPROGS();
  ProfileBuilder b({{"samples", "count"}, {"cpu", "nanoseconds"}});
  b.set_period({"cpu", "nanoseconds"}, 10'000'000);
  b.set_time(1'700'000'000'000'000'000, 1'000'000'000);
  b.set_mapping(main_binary());
  ASSERT_TRUE(b.add_sample({.stack = {kLockSite, kHandler, kMain}, .values = {2, 20'000'000}}));
  ASSERT_TRUE(b.add_sample({.stack = {kHandler, kMain}, .values = {1, 10'000'000}}));
  fs::path file = write_profile(b, "cpu.pb.gz");
  for (const auto& tc : oldest_and_newest()) {
    SCOPED_TRACE("go " + tc.version);
    auto r = testing::go_tool_pprof(tc, "-symbolize=none -top", file.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("Type: cpu"));
    EXPECT_THAT(r.output, HasSubstr("Duration: 1s, Total samples = 30ms ( 3.00%)"));
    EXPECT_THAT(r.output, HasSubstr("sync.(*Mutex).Lock (inline)"));
  }
}

}  // namespace
}  // namespace goscope::output
