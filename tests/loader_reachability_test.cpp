// Reachability the GC's way: the stack maps of .gopclntab decoded on every Go of
// the matrix, then ProcessReachability against the test programs run as our own
// children (process_vm_readv on one's own child needs no privilege): what a
// leaked or deadlocked goroutine waits on must be unreachable once it is left
// out, and reachable from the goroutines that still hold it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "loader/reachability.h"
#include "loader/snapshot_reader.h"
#include "symbolizer/runtime_vars.h"
#include "testprogs.h"

extern char** environ;

namespace goscope::loader {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;

const std::vector<std::string> kVariants = {"default", "pie", "stripped", "pie-stripped", "noinline"};

TEST(ReachabilityStackMaps, DecodedOnEveryMatrixVersion) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    for (const char* variant : {"default", "stripped"}) {
      SCOPED_TRACE(tc.version + " " + variant);
      auto bin = sym::GoBinary::open(testprog(tc.version, variant, "bug_chancycle"));
      ASSERT_TRUE(bin) << bin.error().message;
      const sym::Pclntab& pt = (*bin)->pclntab();

      // runtime.chansend(c *hchan, ep unsafe.Pointer, block bool, callerpc uintptr).
      const auto fn = pt.function_named("runtime.chansend");
      ASSERT_TRUE(fn);
      EXPECT_EQ(pt.args_size(*fn), 32);
      const auto args = pt.stack_map(*fn, sym::kFuncdataArgsPointerMaps);
      const auto locals = pt.stack_map(*fn, sym::kFuncdataLocalsPointerMaps);
      ASSERT_TRUE(args && locals);
      EXPECT_GT(args->n, 1);
      EXPECT_GE(args->nbit, 1);
      EXPECT_LE(args->nbit, 4);  // at most the four argument words
      EXPECT_GT(locals->n, 1);
      EXPECT_GT(locals->nbit, 0);
      // Every call site's index names a bitmap; c (argument word 0) is live at some
      // of them (it is used after gopark returns); the non-pointer words never are.
      const uint64_t entry = pt.function_entry(*fn), end = pt.function_end(*fn);
      size_t sites = 0;
      bool c_live = false;
      for (uint64_t pc = entry; pc < end; pc++) {
        const int32_t index = pt.pcdata_value(*fn, sym::kPcdataStackMapIndex, pc);
        if (index < 0) continue;
        sites++;
        ASSERT_LT(index, locals->n);
        ASSERT_LT(index, args->n);
        ASSERT_EQ(locals->bitmap(index).size(), static_cast<size_t>((locals->nbit + 7) / 8));
        const auto a = args->bitmap(index);
        ASSERT_EQ(a.size(), 1u);
        c_live |= (a[0] & 1) != 0;
        EXPECT_EQ(a[0] & 0xc, 0) << "block and callerpc are not pointers";
      }
      EXPECT_GT(sites, 4u);
      EXPECT_TRUE(c_live);
      // The frame: nothing at the entry, then a multiple of 8 (the frame pointer included).
      EXPECT_EQ(pt.sp_delta(*fn, entry), 0);
      const auto deep = pt.sp_delta(*fn, entry + (end - entry) / 2);
      ASSERT_TRUE(deep);
      EXPECT_GT(*deep, 0);
      EXPECT_EQ(*deep % 8, 0);

      const auto goexit = pt.function_named("runtime.goexit");
      ASSERT_TRUE(goexit);
      EXPECT_TRUE(pt.flags(*goexit) & sym::kFuncFlagTopFrame);
      const auto mcall = pt.function_named("runtime.mcall");
      ASSERT_TRUE(mcall);
      EXPECT_FALSE(pt.stack_map(*mcall, sym::kFuncdataLocalsPointerMaps)) << "assembly has no locals map";

      // runtime.gopark's `var` addresses are never taken, but runtime.selectgo's
      // scase array is passed by pointer: a stack object of its caller.
      bool any_objects = false;
      for (const char* name : {"main.main", "runtime.newproc", "fmt.Sprintf", "fmt.Fprintf", "time.Sleep",
                               "goscope.test/testprogs/internal/tp.GoroutineStates"}) {
        if (auto f = pt.function_named(name))
          for (const auto& r : pt.stack_objects(*f)) {
            any_objects = true;
            EXPECT_GT(r.size, 0) << name;
          }
      }
      EXPECT_TRUE(any_objects);
    }
  }
}

// A test program run as our child until it printed `marker`.
class Child {
 public:
  Child(const std::string& path, const std::string& marker) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> env_strings = {"GOSCOPE_HOLD=120"};
    for (char** e = environ; *e; e++)
      if (std::string_view(*e).substr(0, 13) != "GOSCOPE_HOLD=" &&
          std::string_view(*e).substr(0, 19) != "GOSCOPE_WAIT_STDIN=")
        env_strings.emplace_back(*e);
    std::vector<char*> env;
    for (auto& s : env_strings) env.push_back(s.data());
    env.push_back(nullptr);
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    if (posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv, env.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    stdout_ = out[0];
    marker_ = marker;
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }
  // Reads its output until the marker line (false after `timeout`).
  bool wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (pid_ > 0 && output_.find(marker_) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = read(stdout_, buf, sizeof buf);
      if (n <= 0) return false;
      output_.append(buf, static_cast<size_t>(n));
    }
    // The rest of the marker's line.
    while (output_.find('\n', output_.find(marker_)) == std::string::npos) {
      const ssize_t n = read(stdout_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<size_t>(n));
    }
    return pid_ > 0;
  }
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }
  // The value of `key` in the first FACT line that contains every one of `tokens`.
  std::string fact(std::initializer_list<std::string> tokens, const std::string& key) const {
    std::istringstream in(output_);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> words;
      std::istringstream ws(line);
      for (std::string w; ws >> w;) words.push_back(w);
      bool all = true;
      for (const auto& t : tokens) all &= std::find(words.begin(), words.end(), t) != words.end();
      if (!all) continue;
      for (const auto& w : words)
        if (w.rfind(key + "=", 0) == 0) return w.substr(key.size() + 1);
    }
    return {};
  }
  uint64_t address(std::initializer_list<std::string> tokens, const std::string& key = "addr") const {
    const std::string v = fact(tokens, key);
    return v.empty() ? 0 : std::stoull(v, nullptr, 16);
  }
  uint64_t number(std::initializer_list<std::string> tokens, const std::string& key = "goid") const {
    const std::string v = fact(tokens, key);
    return v.empty() ? 0 : std::stoull(v);
  }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
  std::string marker_;
  std::string output_;
};

// One program run by every matrix version in every variant, all at once (some take seconds to settle).
struct Run {
  std::string version, variant;
  std::unique_ptr<Child> child;
};
std::vector<Run> run_all(const std::string& prog, const std::string& marker,
                         const std::vector<std::string>& variants = kVariants) {
  std::vector<Run> runs;
  for (const auto& tc : toolchains())
    for (const auto& v : variants)
      runs.push_back({tc.version, v, std::make_unique<Child>(testprog(tc.version, v, prog), marker)});
  return runs;
}

// Everything one check needs about a settled child.
struct Live {
  std::shared_ptr<const sym::GoBinary> binary;
  std::optional<sym::ProcessImage> process;
  std::unique_ptr<ProcessMemory> memory;
  model::ProcessSnapshot snapshot;
  std::unique_ptr<ProcessReachability> oracle;
};
::testing::AssertionResult attach(Run& run, const std::string& prog, Live& live) {
  if (!run.child->wait())
    return ::testing::AssertionFailure() << prog << " did not settle; output:\n" << run.child->output();
  auto bin = sym::GoBinary::open(testprog(run.version, run.variant, prog));
  if (!bin) return ::testing::AssertionFailure() << bin.error().message;
  live.binary = *bin;
  auto proc = sym::ProcessImage::open(run.child->pid());
  if (!proc) return ::testing::AssertionFailure() << proc.error().message;
  live.process = std::move(*proc);
  live.memory = std::make_unique<ProcessMemory>(run.child->pid());
  auto snap = read_snapshot(*live.binary, *live.process, *live.memory);
  if (!snap) return ::testing::AssertionFailure() << snap.error().message;
  live.snapshot = std::move(*snap);
  live.oracle = std::make_unique<ProcessReachability>(*live.binary, live.process->load_bias(), live.snapshot,
                                                      *live.memory);
  return ::testing::AssertionSuccess();
}

std::string describe(const detect::ReachabilityOracle::Answer& a) {
  std::ostringstream s;
  if (!a.known) s << "unknown: " << a.why_unknown;
  for (const auto& [t, w] : a.witness) s << " [0x" << std::hex << t << std::dec << " via " << w << "]";
  return s.str();
}

void report(const Run& run, const char* prog, const ProcessReachability& r) {
  const auto& s = r.last_scan();
  std::printf(
      "  %-5s %-12s %-15s read %7.1f KiB, %5llu objects (%llu scanned), %3llu precise / %llu conservative "
      "frames, %.2f ms\n",
      run.version.c_str(), run.variant.c_str(), prog, static_cast<double>(s.bytes_read) / 1024,
      static_cast<unsigned long long>(s.objects_reached), static_cast<unsigned long long>(s.objects_scanned),
      static_cast<unsigned long long>(s.frames_precise),
      static_cast<unsigned long long>(s.frames_conservative), static_cast<double>(s.elapsed_ns) / 1e6);
}

TEST(ReachabilityLive, ChannelCycleIsReachableOnlyFromItsOwnGoroutines) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("bug_chancycle", "FACT settled");
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "bug_chancycle", live));
    const Child& c = *run.child;
    const uint64_t c1 = c.address({"chan", "name=c1"}), c2 = c.address({"chan", "name=c2"});
    const uint64_t x = c.number({"role=x"}), y = c.number({"role=y"});
    ASSERT_TRUE(c1 && c2 && x && y) << c.output();
    const std::vector<uint64_t> targets = {c1, c2};

    const auto stuck = live.oracle->reachable(targets, {x, y});
    report(run, "chancycle", *live.oracle);
    EXPECT_GT(live.oracle->last_scan().scheduler_ps, 0u) << "runtime.allp not found";
    ASSERT_TRUE(stuck.known) << stuck.why_unknown;
    EXPECT_TRUE(stuck.reachable.empty()) << describe(stuck);

    const auto all = live.oracle->reachable(targets, {});
    ASSERT_TRUE(all.known) << all.why_unknown;
    EXPECT_EQ(all.reachable.size(), 2u) << describe(all);
    for (uint64_t t : targets) {
      if (all.witness.count(t)) {
        EXPECT_EQ(all.witness.at(t).rfind("stack of goroutine ", 0), 0u) << all.witness.at(t);
      }
    }

    const std::vector<uint64_t> only_c1 = {c1}, only_c2 = {c2};
    const auto from_y = live.oracle->reachable_from_goroutine(y, only_c1);
    ASSERT_TRUE(from_y);
    EXPECT_TRUE(from_y->count(c1)) << "y receives on c1 after its send";
    const auto from_x = live.oracle->reachable_from_goroutine(x, only_c2);
    ASSERT_TRUE(from_x);
    EXPECT_TRUE(from_x->count(c2)) << "x receives on c2 after its send";
    // main's stack no longer holds either (its slots for them are dead).
    const uint64_t main_goid = c.number({"role=main"});
    const auto from_main = live.oracle->reachable_from_goroutine(main_goid, targets);
    ASSERT_TRUE(from_main);
    EXPECT_TRUE(from_main->empty());
  }
}

TEST(ReachabilityLive, RangeLeakChannelIsUnreachableWithoutItsConsumer) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("bug_rangeleak", "FACT settled");
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "bug_rangeleak", live));
    const Child& c = *run.child;
    const uint64_t items = c.address({"chan", "name=items", "cap=2"});
    const uint64_t consumer = c.number({"role=consumer"});
    ASSERT_TRUE(items && consumer) << c.output();
    const std::vector<uint64_t> targets = {items};
    const auto without = live.oracle->reachable(targets, {consumer});
    report(run, "rangeleak", *live.oracle);
    ASSERT_TRUE(without.known) << without.why_unknown;
    EXPECT_TRUE(without.reachable.empty()) << describe(without);
    const auto with = live.oracle->reachable(targets, {});
    ASSERT_TRUE(with.known) << with.why_unknown;
    EXPECT_TRUE(with.reachable.count(items)) << "the consumer ranges over it";
  }
}

// The g's outside allgs (each M's g0 and gsignal) are heap objects the scan reaches
// through runtime.allm; their stack.hi is one past their stack, i.e. the address of
// whatever object follows it (once, a leaked goroutine's channel). They must be
// recognised as g's and never followed: every live g of allgs and every M's g0 look
// like a g, and the program's channel does not.
TEST(ReachabilityLive, EveryGoroutineStructureIsRecognisedEvenOutsideAllgs) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("bug_rangeleak", "FACT settled", {"default"});
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "bug_rangeleak", live));
    const sym::GoOffsets& o = live.binary->offsets().offsets;
    auto bytes = [&](uint64_t address, size_t n = 512) {
      std::vector<uint8_t> b(n);
      EXPECT_TRUE(live.memory->read(address, b)) << std::hex << address;
      return b;
    };
    size_t live_gs = 0;
    for (const auto& g : live.snapshot.goroutines) {
      if (g.status == static_cast<uint32_t>(model::GStatus::kDead)) continue;
      EXPECT_TRUE(looks_like_g(bytes(g.g_address), o)) << "goroutine " << g.goid;
      live_gs++;
    }
    EXPECT_GE(live_gs, 3u);
    const auto allm = sym::find_runtime_variable(*live.binary, "runtime.allm");
    ASSERT_TRUE(allm);
    uint64_t m = 0;
    ASSERT_TRUE(live.memory->read(allm->vaddr + live.process->load_bias(), {reinterpret_cast<uint8_t*>(&m), 8}));
    ASSERT_NE(m, 0u);
    uint64_t g0 = 0;  // m.g0: the first field of runtime.m in every release (the assembly's m_g0 = 0)
    ASSERT_TRUE(live.memory->read(m, {reinterpret_cast<uint8_t*>(&g0), 8}));
    ASSERT_NE(g0, 0u);
    EXPECT_TRUE(looks_like_g(bytes(g0), o)) << "the g0 of the newest M";
    const uint64_t items = run.child->address({"chan", "name=items", "cap=2"});
    ASSERT_NE(items, 0u);
    EXPECT_FALSE(looks_like_g(bytes(items, 96), o)) << "a channel";
    EXPECT_FALSE(looks_like_g(bytes(m, 512), o)) << "an M";
  }
}

TEST(ReachabilityLive, LeakedSendChannelsAreUnreachableWithoutTheirWorkers) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("bug_sendleak", "FACT settled");
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "bug_sendleak", live));
    const Child& c = *run.child;
    std::vector<uint64_t> results;
    std::set<uint64_t> workers;
    for (int i = 0; i < 3; i++) {
      const std::string idx = std::to_string(i);
      results.push_back(c.address({"chan", "name=result" + idx}));
      workers.insert(c.number({"role=worker", "idx=" + idx}));
      ASSERT_TRUE(results.back() && *workers.rbegin()) << c.output();
    }
    ASSERT_EQ(workers.size(), 3u);
    const auto without = live.oracle->reachable(results, workers);
    report(run, "sendleak", *live.oracle);
    ASSERT_TRUE(without.known) << without.why_unknown;
    EXPECT_TRUE(without.reachable.empty()) << describe(without);
    const auto with = live.oracle->reachable(results, {});
    ASSERT_TRUE(with.known) << with.why_unknown;
    EXPECT_EQ(with.reachable.size(), 3u) << describe(with);
  }
}

TEST(ReachabilityLive, StuckWaitGroupIsUnreachableWithoutItsWaiter) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("bug_wgnever", "FACT settled");
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "bug_wgnever", live));
    const Child& c = *run.child;
    const uint64_t wg = c.address({"waitgroup", "name=wg"});
    const uint64_t waiter = c.number({"role=waiter"});
    ASSERT_TRUE(wg && waiter) << c.output();
    const std::vector<uint64_t> targets = {wg};
    // The waiter's sudog in runtime.semtable points at wg's semaphore: never followed.
    const auto without = live.oracle->reachable(targets, {waiter});
    report(run, "wgnever", *live.oracle);
    ASSERT_TRUE(without.known) << without.why_unknown;
    EXPECT_TRUE(without.reachable.empty()) << describe(without);
    const auto with = live.oracle->reachable(targets, {});
    ASSERT_TRUE(with.known) << with.why_unknown;
    EXPECT_TRUE(with.reachable.count(wg)) << describe(with);
    // read_word: the counter (high 32 bits of the state word on Go 1.20+) is 1.
    const auto state = live.oracle->read_word(wg + *live.binary->offsets().offsets.waitgroup_state);
    ASSERT_TRUE(state);
    if (run.version != "1.19") {
      EXPECT_EQ(*state >> 32, 1u);
    }
  }
}

// Healthy: the nine goroutines of spawn_tree wait on `release`, a global channel main
// will close: reachable with every goroutine left out, through the global.
TEST(ReachabilityLive, GlobalChannelIsReachableThroughTheGlobal) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("spawn_tree", "FACT settled");
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "spawn_tree", live));
    std::set<uint64_t> everyone;
    std::set<uint64_t> waited;
    for (const auto& g : live.snapshot.goroutines) {
      everyone.insert(g.goid);
      for (const auto& w : g.waiting_on)
        if (w.kind == model::WaitedObject::Kind::kChannel) waited.insert(w.address);
    }
    ASSERT_EQ(waited.size(), 1u) << "the 9 goroutines wait on `release`";
    const std::vector<uint64_t> targets(waited.begin(), waited.end());
    const auto a = live.oracle->reachable(targets, everyone);
    report(run, "spawn_tree", *live.oracle);
    ASSERT_TRUE(a.known) << a.why_unknown;
    ASSERT_TRUE(a.reachable.count(targets[0])) << describe(a);
    const std::string& w = a.witness.at(targets[0]);
    if (run.variant.find("stripped") == std::string::npos) {
      EXPECT_EQ(w, "global main.release");
    } else {
      EXPECT_EQ(w.rfind("global at 0x", 0), 0u) << w;
    }
  }
}

// Healthy: example_deadlock's producer is blocked on the full job queue, which the
// workers range over: reachable from their stacks. Neither main (whose slot for it is
// dead since the `go` statements) nor the reporter holds the queue or the accounts.
// With all of them left out, nothing reaches them (a runtime.p's free-page bitmap once
// read as the queue's address: Ps are not followed).
TEST(ReachabilityLive, JobQueueIsReachableFromTheWorkersStacks) {
  GS_REQUIRE_TESTPROGS();
  auto runs = run_all("example_deadlock", "FACT stalled", {"default", "pie-stripped"});
  for (auto& run : runs) {
    SCOPED_TRACE(run.version + " " + run.variant);
    Live live;
    ASSERT_TRUE(attach(run, "example_deadlock", live));
    const Child& c = *run.child;
    const uint64_t jobs = c.address({"chan", "name=jobs"});
    const uint64_t alice = c.address({"mutex", "name=alice"}), bob = c.address({"mutex", "name=bob"});
    const uint64_t producer = c.number({"role=producer"}), reporter = c.number({"role=reporter"});
    const uint64_t main_goid = c.number({"role=main"});
    ASSERT_TRUE(jobs && alice && bob && producer && reporter && main_goid) << c.output();

    const std::vector<uint64_t> queue = {jobs};
    const auto a = live.oracle->reachable(queue, {producer});
    report(run, "example_deadlock", *live.oracle);
    ASSERT_TRUE(a.known) << a.why_unknown;
    ASSERT_TRUE(a.reachable.count(jobs)) << describe(a);
    const auto from_worker = live.oracle->reachable_from_goroutine(c.number({"role=worker", "idx=0"}), queue);
    ASSERT_TRUE(from_worker);
    EXPECT_TRUE(from_worker->count(jobs));

    const std::vector<uint64_t> all = {jobs, alice, bob};
    for (uint64_t g : {main_goid, reporter}) {
      const auto from = live.oracle->reachable_from_goroutine(g, all);
      ASSERT_TRUE(from);
      EXPECT_TRUE(from->empty()) << "goroutine " << g << " reaches " << from->size();
    }
    std::set<uint64_t> stuck = {producer};
    for (int i = 0; i < 4; i++) stuck.insert(c.number({"role=worker", "idx=" + std::to_string(i)}));
    ASSERT_EQ(stuck.size(), 5u);
    const auto b = live.oracle->reachable(all, stuck);
    ASSERT_TRUE(b.known) << b.why_unknown;
    EXPECT_TRUE(b.reachable.empty()) << describe(b);
    const auto from_producer = live.oracle->reachable_from_goroutine(producer, all);
    ASSERT_TRUE(from_producer);
    EXPECT_EQ(from_producer->size(), 3u) << "it sends on jobs, jobs of both accounts";
  }
}

}  // namespace
}  // namespace goscope::loader
