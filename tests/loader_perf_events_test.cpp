// perf events for goscope stat and CPU sampling: perf's event names and aliases, the
// default set, counting the calling thread and a thread that exits (its counters keep
// their final values), /proc thread listing, and one sampling event per online CPU.
// Hardware counters are checked for what this machine has: counted with a PMU,
// <not supported> with a reason without one (virtual machines).
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "loader/perf_events.h"

namespace goscope::loader {
namespace {

using model::CounterInfo;
using model::CounterState;
using model::CounterValue;

constexpr uint64_t kMs = 1'000'000;

std::vector<std::string> names_of(const std::vector<CounterInfo>& counters) {
  std::vector<std::string> out;
  for (const CounterInfo& c : counters) out.push_back(c.name);
  return out;
}

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// Spins until this thread has used `ns` of CPU time (not wall time: the machine may be busy).
void burn_cpu(uint64_t ns) {
  const uint64_t start = thread_cpu_ns();
  volatile uint64_t sink = 0;
  while (thread_cpu_ns() - start < ns) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

size_t index_of(const std::vector<CounterInfo>& counters, const std::string& name) {
  for (size_t i = 0; i < counters.size(); ++i) {
    if (counters[i].name == name) return i;
  }
  ADD_FAILURE() << name << " is not in the list";
  return 0;
}

pid_t pid_beyond_max() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  long max = 4194304;
  in >> max;
  return static_cast<pid_t>(max + 1);
}

std::string read_comm(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string line;
  std::getline(in, line);
  return line;
}

// --- parse_counter_list ---

TEST(LoaderPerfEvents, ParsesCanonicalNames) {
  auto parsed = parse_counter_list(
      "cycles,instructions,cache-references,cache-misses,branches,branch-misses,bus-cycles,"
      "stalled-cycles-frontend,stalled-cycles-backend,ref-cycles");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(names_of(*parsed),
            (std::vector<std::string>{"cycles", "instructions", "cache-references", "cache-misses",
                                      "branches", "branch-misses", "bus-cycles", "stalled-cycles-frontend",
                                      "stalled-cycles-backend", "ref-cycles"}));
  const uint64_t hw_configs[] = {PERF_COUNT_HW_CPU_CYCLES,
                                 PERF_COUNT_HW_INSTRUCTIONS,
                                 PERF_COUNT_HW_CACHE_REFERENCES,
                                 PERF_COUNT_HW_CACHE_MISSES,
                                 PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
                                 PERF_COUNT_HW_BRANCH_MISSES,
                                 PERF_COUNT_HW_BUS_CYCLES,
                                 PERF_COUNT_HW_STALLED_CYCLES_FRONTEND,
                                 PERF_COUNT_HW_STALLED_CYCLES_BACKEND,
                                 PERF_COUNT_HW_REF_CPU_CYCLES};
  for (size_t i = 0; i < parsed->size(); ++i) {
    const CounterInfo& c = (*parsed)[i];
    EXPECT_EQ(c.type, PERF_TYPE_HARDWARE) << c.name;
    EXPECT_EQ(c.config, hw_configs[i]) << c.name;
    EXPECT_TRUE(c.hardware) << c.name;
    EXPECT_FALSE(c.time) << c.name;
  }

  auto sw = parse_counter_list(
      "task-clock,cpu-clock,context-switches,cpu-migrations,page-faults,minor-faults,major-faults,"
      "alignment-faults,emulation-faults");
  ASSERT_TRUE(sw) << sw.error().message;
  EXPECT_EQ(names_of(*sw), (std::vector<std::string>{
                               "task-clock", "cpu-clock", "context-switches", "cpu-migrations", "page-faults",
                               "minor-faults", "major-faults", "alignment-faults", "emulation-faults"}));
  const uint64_t sw_configs[] = {
      PERF_COUNT_SW_TASK_CLOCK,      PERF_COUNT_SW_CPU_CLOCK,        PERF_COUNT_SW_CONTEXT_SWITCHES,
      PERF_COUNT_SW_CPU_MIGRATIONS,  PERF_COUNT_SW_PAGE_FAULTS,      PERF_COUNT_SW_PAGE_FAULTS_MIN,
      PERF_COUNT_SW_PAGE_FAULTS_MAJ, PERF_COUNT_SW_ALIGNMENT_FAULTS, PERF_COUNT_SW_EMULATION_FAULTS};
  for (size_t i = 0; i < sw->size(); ++i) {
    const CounterInfo& c = (*sw)[i];
    EXPECT_EQ(c.type, PERF_TYPE_SOFTWARE) << c.name;
    EXPECT_EQ(c.config, sw_configs[i]) << c.name;
    EXPECT_FALSE(c.hardware) << c.name;
    EXPECT_EQ(c.time, c.name == "task-clock" || c.name == "cpu-clock") << c.name;
  }
}

TEST(LoaderPerfEvents, AliasesMapToCanonicalNames) {
  auto parsed = parse_counter_list(
      "cpu-cycles,branch-instructions,idle-cycles-frontend,idle-cycles-backend,cs,migrations,faults");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(names_of(*parsed), (std::vector<std::string>{"cycles", "branches", "stalled-cycles-frontend",
                                                         "stalled-cycles-backend", "context-switches",
                                                         "cpu-migrations", "page-faults"}));
  EXPECT_EQ((*parsed)[0].config, static_cast<uint64_t>(PERF_COUNT_HW_CPU_CYCLES));
  EXPECT_EQ((*parsed)[4].type, static_cast<uint32_t>(PERF_TYPE_SOFTWARE));
  EXPECT_EQ((*parsed)[4].config, static_cast<uint64_t>(PERF_COUNT_SW_CONTEXT_SWITCHES));
}

TEST(LoaderPerfEvents, ParsesRawEvents) {
  auto parsed = parse_counter_list("r1a2b,rC0,instructions");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].name, "r1a2b");
  EXPECT_EQ((*parsed)[0].type, static_cast<uint32_t>(PERF_TYPE_RAW));
  EXPECT_EQ((*parsed)[0].config, 0x1a2bu);
  EXPECT_TRUE((*parsed)[0].hardware);
  EXPECT_FALSE((*parsed)[0].time);
  EXPECT_EQ((*parsed)[1].name, "rc0");
  EXPECT_EQ((*parsed)[1].config, 0xc0u);

  EXPECT_FALSE(parse_counter_list("r"));                   // no digits
  EXPECT_FALSE(parse_counter_list("r12g"));                // not hex
  EXPECT_FALSE(parse_counter_list("R1a2b"));               // perf's prefix is lower case
  EXPECT_FALSE(parse_counter_list("r12345678901234567"));  // more than 64 bits
  auto max = parse_counter_list("rffffffffffffffff");
  ASSERT_TRUE(max) << max.error().message;
  EXPECT_EQ((*max)[0].config, ~uint64_t{0});
}

TEST(LoaderPerfEvents, ToleratesWhitespace) {
  auto parsed = parse_counter_list("  cycles ,\tinstructions\n, cs ");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(names_of(*parsed), (std::vector<std::string>{"cycles", "instructions", "context-switches"}));
}

TEST(LoaderPerfEvents, RejectsUnknownNameListingKnownOnes) {
  auto parsed = parse_counter_list("cycles,cyclez");
  ASSERT_FALSE(parsed);
  const std::string& msg = parsed.error().message;
  EXPECT_NE(msg.find("'cyclez'"), std::string::npos) << msg;
  for (const char* known : {"cycles", "instructions", "task-clock", "context-switches", "emulation-faults",
                            "cpu-cycles", "rNNNN"}) {
    EXPECT_NE(msg.find(known), std::string::npos) << known << " missing from: " << msg;
  }
  EXPECT_FALSE(parse_counter_list("Cycles"));    // perf's names are lower case
  EXPECT_FALSE(parse_counter_list("cycles:u"));  // no modifiers
}

TEST(LoaderPerfEvents, RejectsEmptyListAndEmptyItems) {
  for (const char* list : {"", "   ", "\n"}) {
    auto parsed = parse_counter_list(list);
    ASSERT_FALSE(parsed) << "'" << list << "'";
    EXPECT_NE(parsed.error().message.find("no counters"), std::string::npos) << parsed.error().message;
  }
  for (const char* list : {"cycles,,instructions", "cycles,", ",cycles", "cycles, ,cs", ","}) {
    auto parsed = parse_counter_list(list);
    ASSERT_FALSE(parsed) << "'" << list << "'";
    EXPECT_NE(parsed.error().message.find("empty counter name"), std::string::npos) << parsed.error().message;
  }
}

TEST(LoaderPerfEvents, RejectsDuplicates) {
  auto same = parse_counter_list("cycles,instructions,cycles");
  ASSERT_FALSE(same);
  EXPECT_NE(same.error().message.find("'cycles' is given twice"), std::string::npos) << same.error().message;

  auto alias = parse_counter_list("page-faults,faults");
  ASSERT_FALSE(alias);
  EXPECT_NE(alias.error().message.find("'faults' is given twice (as page-faults)"), std::string::npos)
      << alias.error().message;

  EXPECT_FALSE(parse_counter_list("r1a,r01a"));  // the same raw config
  EXPECT_TRUE(parse_counter_list("cpu-clock,task-clock"));
}

TEST(LoaderPerfEvents, RejectsMoreThanMaxCounters) {
  const std::string twelve =
      "cycles,instructions,cache-references,cache-misses,branches,branch-misses,bus-cycles,"
      "stalled-cycles-frontend,stalled-cycles-backend,ref-cycles,task-clock,cpu-clock";
  auto ok = parse_counter_list(twelve);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->size(), kMaxCounters);

  auto too_many = parse_counter_list(twelve + ",cs");
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("at most 12"), std::string::npos) << too_many.error().message;
}

TEST(LoaderPerfEvents, DefaultCountersInPerfStatOrder) {
  const std::vector<CounterInfo> counters = default_counters();
  EXPECT_EQ(names_of(counters), (std::vector<std::string>{
                                    "task-clock", "context-switches", "cpu-migrations", "page-faults",
                                    "cycles", "instructions", "cache-references", "cache-misses", "branches",
                                    "branch-misses", "stalled-cycles-frontend", "stalled-cycles-backend"}));
  ASSERT_LE(counters.size(), kMaxCounters);
  for (size_t i = 0; i < counters.size(); ++i) {
    const CounterInfo& c = counters[i];
    const bool hardware = i >= 4;
    EXPECT_EQ(c.hardware, hardware) << c.name;
    EXPECT_EQ(c.type, hardware ? static_cast<uint32_t>(PERF_TYPE_HARDWARE)
                               : static_cast<uint32_t>(PERF_TYPE_SOFTWARE))
        << c.name;
    EXPECT_EQ(c.time, c.name == "task-clock") << c.name;
    // The same as what -e gives for that name.
    auto parsed = parse_counter_list(c.name);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ((*parsed)[0].config, c.config) << c.name;
  }
}

// --- CPU lists ---

TEST(LoaderPerfEvents, ParsesCpuLists) {
  EXPECT_EQ(parse_cpu_list("0-1\n"), (std::vector<int>{0, 1}));
  EXPECT_EQ(parse_cpu_list("0"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("0,2-3"), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(parse_cpu_list("4-5,0-1,1"), (std::vector<int>{0, 1, 4, 5}));
  EXPECT_EQ(parse_cpu_list("7-7"), (std::vector<int>{7}));
  for (const char* bad :
       {"", "\n", "a", "1-", "-1", "3-1", "0,,1", "0,", "1-2-3", "0-99999999", " 0 - 1", "0x1"}) {
    EXPECT_TRUE(parse_cpu_list(bad).empty()) << "'" << bad << "'";
  }
}

TEST(LoaderPerfEvents, OnlineCpusMatchSysfs) {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string line;
  std::getline(in, line);
  const std::vector<int> cpus = online_cpus();
  EXPECT_EQ(cpus, parse_cpu_list(line));
  EXPECT_EQ(static_cast<long>(cpus.size()), sysconf(_SC_NPROCESSORS_ONLN));
}

// --- threads ---

TEST(LoaderPerfEvents, ListsThreadsOfProcess) {
  std::atomic<pid_t> other_tid{0};
  std::atomic<bool> done{false};
  std::thread t([&] {
    pthread_setname_np(pthread_self(), "gs-perf-test");
    other_tid = gettid();
    while (!done) usleep(1000);
  });
  while (other_tid == 0) usleep(100);

  const std::vector<pid_t> tids = list_threads(getpid());
  EXPECT_TRUE(std::is_sorted(tids.begin(), tids.end()));
  EXPECT_NE(std::find(tids.begin(), tids.end(), gettid()), tids.end());
  EXPECT_NE(std::find(tids.begin(), tids.end(), other_tid.load()), tids.end());
  EXPECT_EQ(tids.front(), getpid());  // the main thread's tid is the pid, the lowest

  EXPECT_EQ(thread_name(getpid(), other_tid), "gs-perf-test");
  EXPECT_EQ(thread_name(getpid(), gettid()), read_comm(gettid()));
  EXPECT_FALSE(thread_name(getpid(), gettid()).empty());

  done = true;
  t.join();
}

TEST(LoaderPerfEvents, GoneProcessHasNoThreads) {
  EXPECT_TRUE(list_threads(pid_beyond_max()).empty());
  EXPECT_EQ(thread_name(pid_beyond_max(), pid_beyond_max()), "");
  EXPECT_TRUE(list_threads(0).empty());
  EXPECT_TRUE(list_threads(-1).empty());
  EXPECT_EQ(thread_name(getpid(), -5), "");
}

// --- PMU ---

TEST(LoaderPerfEvents, DetectPmuAgreesWithOpeningCycles) {
  const PmuInfo pmu = detect_pmu();
  auto cycles = parse_counter_list("cycles");
  ASSERT_TRUE(cycles);
  auto counters = ThreadCounters::open(gettid(), *cycles);
  ASSERT_TRUE(counters) << counters.error().message;
  if (pmu.hardware) {
    EXPECT_FALSE(pmu.name.empty());
    EXPECT_TRUE(pmu.note.empty()) << pmu.note;
    EXPECT_GE(counters->fds()[0], 0) << counters->errors()[0];
  } else {
    EXPECT_TRUE(pmu.name.empty()) << pmu.name;
    EXPECT_NE(pmu.note.find("no hardware PMU"), std::string::npos) << pmu.note;
    EXPECT_NE(pmu.note.find("<not supported>"), std::string::npos) << pmu.note;
    EXPECT_EQ(counters->fds()[0], -1);
  }
}

// --- ThreadCounters ---

TEST(LoaderPerfEvents, CountsTaskClockOfCallingThread) {
  auto counters_info = parse_counter_list("task-clock,cpu-clock,page-faults");
  ASSERT_TRUE(counters_info);
  auto counters = ThreadCounters::open(gettid(), *counters_info);
  ASSERT_TRUE(counters) << counters.error().message;
  EXPECT_EQ(counters->tid(), gettid());
  ASSERT_EQ(counters->fds().size(), 3u);
  ASSERT_EQ(counters->errors().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GE(counters->fds()[i], 0) << counters->errors()[i];
    EXPECT_EQ(counters->errors()[i], "");
  }

  burn_cpu(50 * kMs);
  // Fresh anonymous pages (not malloc's, which may reuse faulted ones), no huge pages.
  constexpr size_t kPages = 1024;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* mem = mmap(nullptr, kPages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  madvise(mem, kPages * page, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < kPages; ++i) static_cast<volatile char*>(mem)[i * page] = 1;
  munmap(mem, kPages * page);

  const std::vector<CounterValue> v = counters->read();
  ASSERT_EQ(v.size(), 3u);
  for (const CounterValue& c : v) {
    EXPECT_EQ(c.state, CounterState::kCounted);
    EXPECT_GT(c.enabled_ns, 0u);
    EXPECT_GT(c.running_ns, 0u);
    EXPECT_LE(c.running_ns, c.enabled_ns);
  }
  EXPECT_GE(v[0].raw, 30 * kMs);  // task-clock is ns of CPU time
  EXPECT_LT(v[0].raw, 60'000 * kMs);
  EXPECT_GE(v[1].raw, 30 * kMs);
  EXPECT_GE(v[2].raw, kPages);
  EXPECT_DOUBLE_EQ(v[0].scaled(), static_cast<double>(v[0].raw));  // software events never multiplex
}

TEST(LoaderPerfEvents, CountsContextSwitches) {
  auto info = parse_counter_list("cs");
  ASSERT_TRUE(info);
  auto counters = ThreadCounters::open(gettid(), *info);
  ASSERT_TRUE(counters) << counters.error().message;
  for (int i = 0; i < 5; ++i) usleep(2000);
  const std::vector<CounterValue> v = counters->read();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, CounterState::kCounted);
  EXPECT_GE(v[0].raw, 5u);  // every sleep switches out at least once
}

TEST(LoaderPerfEvents, ValuesAreMonotonic) {
  const std::vector<CounterInfo> info = default_counters();
  auto counters = ThreadCounters::open(gettid(), info);
  ASSERT_TRUE(counters) << counters.error().message;
  burn_cpu(5 * kMs);
  const std::vector<CounterValue> first = counters->read();
  burn_cpu(10 * kMs);
  usleep(1000);
  const std::vector<CounterValue> second = counters->read();
  ASSERT_EQ(first.size(), info.size());
  ASSERT_EQ(second.size(), info.size());
  for (size_t i = 0; i < info.size(); ++i) {
    EXPECT_EQ(first[i].state == CounterState::kNotSupported, second[i].state == CounterState::kNotSupported)
        << info[i].name;
    EXPECT_GE(second[i].raw, first[i].raw) << info[i].name;
    EXPECT_GE(second[i].enabled_ns, first[i].enabled_ns) << info[i].name;
    EXPECT_GE(second[i].running_ns, first[i].running_ns) << info[i].name;
  }
  const size_t task_clock = index_of(info, "task-clock");
  EXPECT_GE(second[task_clock].raw - first[task_clock].raw, 8 * kMs);
  EXPECT_GE(second[index_of(info, "context-switches")].raw, 1u);
}

TEST(LoaderPerfEvents, HardwareCountersCountedOrNotSupported) {
  const PmuInfo pmu = detect_pmu();
  const std::vector<CounterInfo> info = default_counters();
  auto counters = ThreadCounters::open(gettid(), info);
  ASSERT_TRUE(counters) << counters.error().message;
  burn_cpu(20 * kMs);
  const std::vector<CounterValue> v = counters->read();
  ASSERT_EQ(v.size(), info.size());
  const size_t cycles = index_of(info, "cycles");
  const size_t instructions = index_of(info, "instructions");
  if (pmu.hardware) {
    for (size_t i : {cycles, instructions}) {
      EXPECT_EQ(v[i].state, CounterState::kCounted) << info[i].name << ": " << counters->errors()[i];
      EXPECT_GT(v[i].raw, 0u) << info[i].name;
      EXPECT_GT(v[i].scaled(), 0.0) << info[i].name;
    }
  } else {
    for (size_t i = 0; i < info.size(); ++i) {
      if (!info[i].hardware) continue;
      EXPECT_EQ(v[i].state, CounterState::kNotSupported) << info[i].name;
      EXPECT_EQ(counters->fds()[i], -1) << info[i].name;
      EXPECT_NE(counters->errors()[i].find("not supported"), std::string::npos)
          << info[i].name << ": " << counters->errors()[i];
      EXPECT_EQ(v[i].scaled(), 0.0);
    }
  }
  // Software counters are counted either way.
  for (size_t i = 0; i < info.size(); ++i) {
    if (info[i].hardware) continue;
    EXPECT_NE(v[i].state, CounterState::kNotSupported) << info[i].name << ": " << counters->errors()[i];
  }
  EXPECT_EQ(v[index_of(info, "task-clock")].state, CounterState::kCounted);
}

TEST(LoaderPerfEvents, ExitedThreadKeepsFinalValues) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> go{false};
  std::thread t([&] {
    tid = gettid();
    while (!go) usleep(100);
    burn_cpu(30 * kMs);
  });
  while (tid == 0) usleep(100);

  auto info = parse_counter_list("task-clock,context-switches");
  ASSERT_TRUE(info);
  auto counters = ThreadCounters::open(tid, *info);
  go = true;
  t.join();
  ASSERT_TRUE(counters) << counters.error().message;

  const std::vector<CounterValue> v = counters->read();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].state, CounterState::kCounted);
  EXPECT_GE(v[0].raw, 20 * kMs);
  EXPECT_NE(v[1].state, CounterState::kNotSupported);

  // Frozen: the thread is gone, nothing counts any more.
  usleep(5000);
  const std::vector<CounterValue> again = counters->read();
  ASSERT_EQ(again.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(again[i].state, v[i].state);
    EXPECT_EQ(again[i].raw, v[i].raw);
    EXPECT_EQ(again[i].enabled_ns, v[i].enabled_ns);
    EXPECT_EQ(again[i].running_ns, v[i].running_ns);
  }

  // A thread that is already gone cannot be opened.
  auto gone = ThreadCounters::open(tid, *info);
  if (!gone) {
    EXPECT_EQ(gone.error().sys_errno, ESRCH);  // (unless the tid was reused meanwhile)
  }
}

TEST(LoaderPerfEvents, OpenFailsOnlyForGoneThread) {
  auto info = parse_counter_list("task-clock");
  ASSERT_TRUE(info);
  auto gone = ThreadCounters::open(pid_beyond_max(), *info);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().sys_errno, ESRCH);
  EXPECT_NE(gone.error().message.find("exited"), std::string::npos) << gone.error().message;

  EXPECT_FALSE(ThreadCounters::open(0, *info));
  EXPECT_FALSE(ThreadCounters::open(-1, *info));

  // An event the kernel does not know is kept as not supported; open() still succeeds.
  std::vector<CounterInfo> odd = *info;
  odd.push_back(CounterInfo{"bogus", PERF_TYPE_SOFTWARE, 9999, false, false});
  auto counters = ThreadCounters::open(gettid(), odd);
  ASSERT_TRUE(counters) << counters.error().message;
  EXPECT_GE(counters->fds()[0], 0);
  EXPECT_EQ(counters->fds()[1], -1);
  EXPECT_FALSE(counters->errors()[1].empty());
  const std::vector<CounterValue> v = counters->read();
  EXPECT_EQ(v[0].state, CounterState::kCounted);
  EXPECT_EQ(v[1].state, CounterState::kNotSupported);

  auto none = ThreadCounters::open(gettid(), std::vector<CounterInfo>{});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->read().empty());
}

TEST(LoaderPerfEvents, CountersOwnTheirFds) {
  auto info = parse_counter_list("task-clock,cs");
  ASSERT_TRUE(info);
  std::vector<int> fds;
  {
    auto opened = ThreadCounters::open(gettid(), *info);
    ASSERT_TRUE(opened) << opened.error().message;
    ThreadCounters counters = std::move(*opened);
    EXPECT_TRUE(opened->fds().empty());
    EXPECT_TRUE(opened->read().empty());
    fds.assign(counters.fds().begin(), counters.fds().end());
    ASSERT_EQ(fds.size(), 2u);
    for (int fd : fds) {
      ASSERT_GE(fd, 0);
      EXPECT_NE(fcntl(fd, F_GETFD), -1);
      EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    }
    auto other = ThreadCounters::open(gettid(), *info);
    ASSERT_TRUE(other);
    const int replaced = other->fds()[0];
    *other = std::move(counters);  // closes other's own fds
    EXPECT_EQ(fcntl(replaced, F_GETFD), -1);
    EXPECT_EQ(other->fds()[0], fds[0]);
    EXPECT_EQ(other->read()[0].state, CounterState::kCounted);
  }
  for (int fd : fds) {
    const int rc = fcntl(fd, F_GETFD);
    const int err = errno;
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(err, EBADF);
  }
}

// --- CpuSampler ---

TEST(LoaderPerfEvents, SamplerOpensOneEventPerOnlineCpu) {
  const PmuInfo pmu = detect_pmu();
  auto sampler = CpuSampler::open({99, true});
  ASSERT_TRUE(sampler) << sampler.error().message;
  EXPECT_EQ(sampler->fds().size(), online_cpus().size());
  for (int fd : sampler->fds()) EXPECT_GE(fd, 0);
  EXPECT_EQ(sampler->event(), pmu.hardware ? "cycles" : "cpu-clock");
  EXPECT_EQ(sampler->frequency_hz(), 99u);
  EXPECT_EQ(sampler->period_ns(), 1'000'000'000 / 99);

  auto software = CpuSampler::open({1000, false});
  ASSERT_TRUE(software) << software.error().message;
  EXPECT_EQ(software->event(), "cpu-clock");
  EXPECT_EQ(software->fds().size(), online_cpus().size());
  EXPECT_EQ(software->period_ns(), 1'000'000);

  std::vector<int> fds(software->fds().begin(), software->fds().end());
  {
    CpuSampler moved = std::move(*software);
    EXPECT_TRUE(software->fds().empty());
    EXPECT_EQ(moved.fds().size(), fds.size());
    EXPECT_EQ(moved.event(), "cpu-clock");
  }
  for (int fd : fds) EXPECT_EQ(fcntl(fd, F_GETFD), -1);
}

TEST(LoaderPerfEvents, SamplerRejectsBadFrequency) {
  for (uint32_t hz : {0u, 100'001u, 4'000'000'000u}) {
    auto sampler = CpuSampler::open({hz, false});
    ASSERT_FALSE(sampler) << hz;
    EXPECT_NE(sampler.error().message.find("out of range"), std::string::npos) << sampler.error().message;
  }
}

}  // namespace
}  // namespace goscope::loader
