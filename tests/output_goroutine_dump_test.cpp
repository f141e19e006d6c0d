// The goroutine dump renderer (`goscope dump`'s text, JSON and goroutine profile) on a
// hand-made snapshot of a PIE process, symbolized by a fake CodeInfo: the runtime's
// traceback shape, which frames and goroutines are hidden, entry offsets, inlined
// frames, creation sites, waited-on objects, grouping, JSON fields.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "state/stack_symbolizer.h"
#include "fake_code_info.h"
#include "model/snapshot.h"
#include "output/goroutine_dump.h"
#include "testprogs.h"

namespace goscope::output {
namespace {

using model::GoroutineSnapshot;
using model::GStatus;
using model::StackState;
using model::WaitedObject;

constexpr uint64_t kBias = 0x555500000000;  // a PIE loaded here
constexpr int64_t kMinute = 60'000'000'000LL;

uint64_t at(uint64_t vaddr) {
  return kBias + vaddr;
}

std::shared_ptr<const state::CodeInfo> code() {
  using F = testing::FakeCodeInfo::Function;
  const std::string proc = "/usr/lib/go/src/runtime/proc.go";
  F worker{"main.worker", "/src/app/main.go", 0x402000, 0x402100, 10};
  worker.inlined_name = "main.helper";
  worker.inlined_file = "/src/app/util.go";
  worker.inlined_start = 0x402040;
  worker.inlined_end = 0x402050;
  worker.inlined_line = 5;
  auto c = std::make_shared<testing::FakeCodeInfo>(std::vector<F>{
      {"runtime.gopark", proc, 0x401000, 0x401100, 400},
      {"runtime.chanrecv", "/usr/lib/go/src/runtime/chan.go", 0x401100, 0x401200, 500},
      {"runtime.chanrecv1", "/usr/lib/go/src/runtime/chan.go", 0x401200, 0x401300, 600},
      worker,
      {"runtime.goexit", "/usr/lib/go/src/runtime/asm_amd64.s", 0x403000, 0x403010, 1700},
      {"main.main", "/src/app/main.go", 0x404000, 0x404200, 100},
      {"runtime.main", proc, 0x405000, 0x405100, 250},
      {"runtime.gcBgMarkWorker", "/usr/lib/go/src/runtime/mgc.go", 0x406000, 0x406100, 1300},
      {"runtime.gcenable", "/usr/lib/go/src/runtime/mgc.go", 0x407000, 0x407100, 200},
      {"sync.runtime_SemacquireMutex", "/usr/lib/go/src/runtime/sema.go", 0x408000, 0x408100, 70},
      {"sync.(*Mutex).lockSlow", "/usr/lib/go/src/sync/mutex.go", 0x409000, 0x409100, 150},
  });
  c->mutable_offsets().mutex_sema = 8;
  return c;
}

GoroutineSnapshot waiting(uint64_t goid, uint32_t reason, std::string reason_name) {
  GoroutineSnapshot g;
  g.goid = goid;
  g.g_address = 0xc000001000 + goid * 0x100;
  g.status = static_cast<uint32_t>(GStatus::kWaiting);
  g.wait_reason = reason;
  g.wait_reason_name = std::move(reason_name);
  return g;
}

// main sleeping; a worker receiving (inlined helper) for 3 minutes; a GC worker; a
// goroutine outside the executable's text; one blocked on a mutex; one running.
model::ProcessSnapshot snapshot() {
  model::ProcessSnapshot s;
  s.pid = 4242;
  s.taken_at_ns = 10 * kMinute;
  s.allglen = 9;
  s.dead_skipped = 3;

  GoroutineSnapshot main = waiting(1, 13, "sleep");
  main.stack = {at(0x401020), at(0x404031), at(0x405011), at(0x403001)};
  main.start_pc = at(0x405000);
  main.go_pc = at(0x405050);  // never shown for goroutine 1
  s.goroutines.push_back(main);

  GoroutineSnapshot worker = waiting(7, 14, "chan receive");
  worker.wait_since_ns = s.taken_at_ns - 3 * kMinute - 5;
  worker.stack = {at(0x401020), at(0x401130), at(0x401210), at(0x402045), at(0x403001)};
  worker.start_pc = at(0x402000);
  worker.go_pc = at(0x404060);
  worker.parent_goid = 1;
  worker.waiting_on = {{WaitedObject::Kind::kChannel, 0xc000020060, false}};
  s.goroutines.push_back(worker);

  GoroutineSnapshot gc = waiting(20, 25, "GC worker (idle)");
  gc.stack = {at(0x401020), at(0x406050), at(0x403001)};
  gc.start_pc = at(0x406000);
  gc.go_pc = at(0x407020);
  gc.parent_goid = 1;
  s.goroutines.push_back(gc);

  GoroutineSnapshot lost;
  lost.goid = 30;
  lost.status = static_cast<uint32_t>(GStatus::kRunnable);
  lost.stack = {0x7f0000001234};
  lost.stack_state = StackState::kTruncated;
  lost.inconsistent = true;
  lost.inconsistency = "status changed";
  s.goroutines.push_back(lost);

  GoroutineSnapshot locker = waiting(31, 21, "sync.Mutex.Lock");
  locker.stack = {at(0x401020), at(0x408010), at(0x409020), at(0x402010), at(0x403001)};
  locker.start_pc = at(0x402000);
  locker.go_pc = at(0x404060);
  locker.parent_goid = 1;
  locker.waiting_on = {{WaitedObject::Kind::kSemaphore, 0xc000100008, false}};
  s.goroutines.push_back(locker);

  GoroutineSnapshot running;
  running.goid = 32;
  running.status = static_cast<uint32_t>(GStatus::kRunning);
  running.stack_state = StackState::kRunning;
  running.start_pc = at(0x402000);
  running.go_pc = at(0x404060);
  running.parent_goid = 7;
  s.goroutines.push_back(running);
  return s;
}

class OutputGoroutineDump : public ::testing::Test {
 protected:
  OutputGoroutineDump()
      : symbols_(std::make_shared<state::StackSymbolizer>(code(), stacks_)),
        renderer_(
            symbols_,
            [](uint64_t pc) -> std::optional<uint64_t> {
              if (pc >= at(0x400000) && pc < at(0x500000)) return pc - kBias;
              return std::nullopt;
            },
            "/src/app/app") {}

  template <typename Write>
  static std::string capture(Write write) {
    char* buf = nullptr;
    size_t size = 0;
    FILE* f = open_memstream(&buf, &size);
    write(f);
    std::fclose(f);
    std::string s(buf, size);
    std::free(buf);
    return s;
  }
  std::string text(const model::ProcessSnapshot& s, const GoroutineDumpOptions& o) const {
    return capture([&](FILE* f) { renderer_.write_text(f, s, o); });
  }
  nlohmann::json json(const model::ProcessSnapshot& s, const nlohmann::json* analysis) const {
    return nlohmann::json::parse(capture([&](FILE* f) { renderer_.write_json(f, s, 1.5, analysis); }));
  }

  model::StackTable stacks_;
  std::shared_ptr<state::StackSymbolizer> symbols_;
  GoroutineDumpRenderer renderer_;
};

TEST_F(OutputGoroutineDump, TextInTheRuntimesTracebackShape) {
  EXPECT_EQ(text(snapshot(), {}),
            "goscope dump of PID 4242 (/src/app/app, go1.22.3): 6 goroutines, 1 runtime-internal ones not "
            "shown (--system shows them)\n"
            "\n"
            "goroutine 1 [sleep]:\n"
            "main.main(...)\n"
            "\t/src/app/main.go:148 +0x31\n"
            "\n"
            "goroutine 7 [chan receive, 3 minutes]:\n"
            "main.helper(...)\n"
            "\t/src/app/util.go:5\n"
            "main.worker(...)\n"
            "\t/src/app/main.go:78 +0x45\n"
            "created by main.main in goroutine 1\n"
            "\t/src/app/main.go:195 +0x60\n"
            "\twaits on channel 0xc000020060\n"
            "\n"
            "goroutine 30 [runnable]:\n"
            "?(...)\n"
            "\t?:? pc=0x7f0000001234 (not in the executable's text)\n"
            "...additional frames elided...\n"
            "\t(changed while being read: status changed)\n"
            "\n"
            "goroutine 31 [sync.Mutex.Lock]:\n"
            "sync.runtime_SemacquireMutex(...)\n"
            "\t/usr/lib/go/src/runtime/sema.go:85 +0x10\n"
            "sync.(*Mutex).lockSlow(...)\n"
            "\t/usr/lib/go/src/sync/mutex.go:181 +0x20\n"
            "main.worker(...)\n"
            "\t/src/app/main.go:25 +0x10\n"
            "created by main.main in goroutine 1\n"
            "\t/src/app/main.go:195 +0x60\n"
            "\twaits on sync.Mutex 0xc000100000, semaphore 0xc000100008\n"
            "\n"
            "goroutine 32 [running]:\n"
            "\tgoroutine running on other thread; stack unavailable\n"
            "created by main.main in goroutine 7\n"
            "\t/src/app/main.go:195 +0x60\n");
}

TEST_F(OutputGoroutineDump, SystemShowsTheRuntimesGoroutinesAndFrames) {
  GoroutineDumpOptions o;
  o.system = true;
  const std::string t = text(snapshot(), o);
  EXPECT_NE(t.find("): 6 goroutines\n"), std::string::npos) << t;
  EXPECT_NE(t.find("goroutine 20 [GC worker (idle)]:\n"
                   "runtime.gopark(...)\n"
                   "\t/usr/lib/go/src/runtime/proc.go:431 +0x20\n"
                   "runtime.gcBgMarkWorker(...)\n"
                   "\t/usr/lib/go/src/runtime/mgc.go:1379 +0x50\n"
                   "runtime.goexit(...)\n"
                   "\t/usr/lib/go/src/runtime/asm_amd64.s:1700 +0x1\n"
                   "created by runtime.gcenable in goroutine 1\n"
                   "\t/usr/lib/go/src/runtime/mgc.go:231 +0x20\n"),
            std::string::npos)
      << t;
}

TEST_F(OutputGoroutineDump, RuntimeFramesKeepHiddenGoroutinesHidden) {
  GoroutineDumpOptions o;
  o.runtime_frames = true;
  const std::string t = text(snapshot(), o);
  EXPECT_EQ(t.find("goroutine 20 "), std::string::npos) << t;
  EXPECT_NE(t.find("goroutine 7 [chan receive, 3 minutes]:\n"
                   "runtime.gopark(...)\n"
                   "\t/usr/lib/go/src/runtime/proc.go:431 +0x20\n"
                   "runtime.chanrecv(...)\n"
                   "\t/usr/lib/go/src/runtime/chan.go:547 +0x30\n"
                   "runtime.chanrecv1(...)\n"
                   "\t/usr/lib/go/src/runtime/chan.go:615 +0x10\n"
                   "main.helper(...)\n"),
            std::string::npos)
      << t;
}

TEST_F(OutputGoroutineDump, AGoroutineAtItsEntryIsLookedUpThereNotInTheFunctionBefore) {
  model::ProcessSnapshot s;
  s.pid = 1;
  GoroutineSnapshot g;
  g.goid = 5;
  g.status = static_cast<uint32_t>(GStatus::kRunnable);
  g.stack = {at(0x402000)};  // not started yet: its pc is main.worker's entry
  s.goroutines.push_back(g);
  EXPECT_NE(text(s, {}).find("goroutine 5 [runnable]:\nmain.worker(...)\n\t/src/app/main.go:10\n"),
            std::string::npos);
}

TEST_F(OutputGoroutineDump, ManyGoroutinesAreGroupedByIdenticalStack) {
  model::ProcessSnapshot s = snapshot();
  const GoroutineSnapshot worker = s.goroutines[1];
  for (uint64_t goid = 100; goid < 200; goid++) {
    GoroutineSnapshot g = worker;
    g.goid = goid;
    g.waiting_on = {{WaitedObject::Kind::kChannel, 0xc000030000 + goid % 2, goid == 150}};
    s.goroutines.push_back(g);
  }
  const std::string t = text(s, {});
  EXPECT_NE(t.find("grouped by identical stack: 5 groups (--group=never lists every goroutine)\n"
                   "\n"
                   "101 goroutines [chan receive, 3 minutes]: 7 100 101 102 103 104 105 106 107 108 ...\n"
                   "main.helper(...)\n"
                   "\t/src/app/util.go:5\n"
                   "main.worker(...)\n"
                   "\t/src/app/main.go:78 +0x45\n"
                   "created by main.main\n"
                   "\t/src/app/main.go:195 +0x60\n"
                   "\twaits on channel 0xc000020060 (1 of them)\n"
                   "\twaits on channel 0xc000030000 (select case) (50 of them)\n"
                   "\twaits on channel 0xc000030001 (50 of them)\n"
                   "\n"
                   "goroutine 1 [sleep]:\n"),
            std::string::npos)
      << t;

  GoroutineDumpOptions never;
  never.group = DumpGrouping::kNever;
  EXPECT_EQ(text(s, never).find("grouped"), std::string::npos);
  GoroutineDumpOptions always;
  always.group = DumpGrouping::kAlways;
  EXPECT_NE(text(snapshot(), always).find("grouped by identical stack: 5 groups"), std::string::npos);
}

TEST_F(OutputGoroutineDump, JsonHasEveryGoroutineWithAllItsFrames) {
  const nlohmann::json analysis = {{"findings", nlohmann::json::array()}};
  const nlohmann::json j = json(snapshot(), &analysis);
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["exe"], "/src/app/app");
  EXPECT_EQ(j["go_version"], "go1.22.3");
  EXPECT_EQ(j["allglen"], 9);
  EXPECT_EQ(j["dead_skipped"], 3);
  EXPECT_EQ(j["read_ms"], 1.5);
  EXPECT_EQ(j["analysis"], analysis);
  ASSERT_EQ(j["goroutines"].size(), 6u);

  const nlohmann::json& worker = j["goroutines"][1];
  EXPECT_EQ(worker["goid"], 7);
  EXPECT_EQ(worker["status"], "waiting");
  EXPECT_EQ(worker["wait_reason"], "chan receive");
  EXPECT_EQ(worker["header"], "chan receive");
  EXPECT_EQ(worker["system"], false);
  EXPECT_EQ(worker["start_function"], "main.worker");
  EXPECT_EQ(worker["created_by"], nlohmann::json({{"function", "main.main"},
                                                  {"file", "/src/app/main.go"},
                                                  {"line", 195},
                                                  {"pc", "0x555500404060"}}));
  EXPECT_EQ(worker["parent_goid"], 1);
  EXPECT_EQ(worker["stack_state"], "complete");
  ASSERT_EQ(worker["frames"].size(), 6u);  // the runtime's frames and the inlined one included
  EXPECT_EQ(worker["frames"][0]["function"], "runtime.gopark");
  EXPECT_EQ(worker["frames"][3], nlohmann::json({{"function", "main.helper"},
                                                 {"file", "/src/app/util.go"},
                                                 {"line", 5},
                                                 {"inlined", true},
                                                 {"pc", "0x555500402045"}}));
  EXPECT_EQ(worker["waiting_on"][0]["kind"], "channel");
  EXPECT_EQ(worker["waiting_on"][0]["object"], nullptr);

  EXPECT_EQ(j["goroutines"][2]["system"], true);
  EXPECT_EQ(j["goroutines"][2]["start_function"], "runtime.gcBgMarkWorker");
  EXPECT_EQ(j["goroutines"][0]["created_by"], nullptr);  // goroutine 1: the runtime made it
  const nlohmann::json& lost = j["goroutines"][3];
  EXPECT_EQ(lost["frames"][0]["function"], nullptr);
  EXPECT_EQ(lost["inconsistency"], "status changed");
  EXPECT_EQ(lost["start_function"], nullptr);
  EXPECT_EQ(j["goroutines"][4]["waiting_on"][0]["object"],
            nlohmann::json({{"type", "sync.Mutex"}, {"address", "0xc000100000"}, {"role", ""}}));

  EXPECT_FALSE(json(snapshot(), nullptr).contains("analysis"));
}

TEST_F(OutputGoroutineDump, ProfileIsWrittenAsGzippedProtobuf) {
  const std::string path = testing::scratch_dir() + "/dump_goroutines.pb.gz";
  ASSERT_TRUE(renderer_.write_profile(path, snapshot(), false));
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {};
  in.read(magic, 2);
  EXPECT_EQ(static_cast<unsigned char>(magic[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(magic[1]), 0x8b);
}

TEST_F(OutputGoroutineDump, SystemGoroutinesAreTheRuntimes) {
  const model::ProcessSnapshot s = snapshot();
  EXPECT_FALSE(renderer_.is_system(s.goroutines[0]));  // runtime.main runs main.main
  EXPECT_FALSE(renderer_.is_system(s.goroutines[1]));
  EXPECT_TRUE(renderer_.is_system(s.goroutines[2]));
  EXPECT_FALSE(renderer_.is_system(s.goroutines[3]));  // start unknown
}

}  // namespace
}  // namespace goscope::output
