#include "loader/perf_events.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <utility>

namespace goscope::loader {

namespace {

struct CatalogEntry {
  const char* name;   // as perf prints it
  const char* alias;  // nullptr when none
  uint32_t type;
  uint64_t config;
  bool hardware;
  bool time;
};

// perf's generic events (perf list: "Hardware event" and "Software event").
constexpr CatalogEntry kCatalog[] = {
    {"cycles", "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true, false},
    {"instructions", nullptr, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, true, false},
    {"cache-references", nullptr, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, true, false},
    {"cache-misses", nullptr, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, true, false},
    {"branches", "branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, true, false},
    {"branch-misses", nullptr, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, true, false},
    {"bus-cycles", nullptr, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, true, false},
    {"stalled-cycles-frontend", "idle-cycles-frontend", PERF_TYPE_HARDWARE,
     PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, true, false},
    {"stalled-cycles-backend", "idle-cycles-backend", PERF_TYPE_HARDWARE,
     PERF_COUNT_HW_STALLED_CYCLES_BACKEND, true, false},
    {"ref-cycles", nullptr, PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, true, false},
    {"task-clock", nullptr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, false, true},
    {"cpu-clock", nullptr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, false, true},
    {"context-switches", "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, false, false},
    {"cpu-migrations", "migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, false, false},
    {"page-faults", "faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, false, false},
    {"minor-faults", nullptr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, false, false},
    {"major-faults", nullptr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, false, false},
    {"alignment-faults", nullptr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, false, false},
    {"emulation-faults", nullptr, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, false, false},
};

model::CounterInfo info_of(const CatalogEntry& e) {
  return model::CounterInfo{e.name, e.type, e.config, e.hardware, e.time};
}

const CatalogEntry* find_entry(std::string_view name) {
  for (const CatalogEntry& e : kCatalog) {
    if (name == e.name || (e.alias && name == e.alias)) return &e;
  }
  return nullptr;
}

std::string known_counters() {
  std::string out;
  for (const CatalogEntry& e : kCatalog) {
    if (!out.empty()) out += ", ";
    out += e.name;
    if (e.alias) out += std::string(" (") + e.alias + ")";
  }
  return out + ", or rNNNN (a raw hex event)";
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// "r1a2b": perf's raw event syntax, up to 16 hex digits.
bool parse_raw(std::string_view name, uint64_t& config) {
  if (name.size() < 2 || name.size() > 17 || name[0] != 'r') return false;
  const char* first = name.data() + 1;
  const char* last = name.data() + name.size();
  auto [end, ec] = std::from_chars(first, last, config, 16);
  return ec == std::errc() && end == last;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

int perf_event_open(perf_event_attr& attr, pid_t pid, int cpu) {
  attr.size = sizeof(attr);
  return static_cast<int>(syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

// Why the kernel refused a counting event, with what to do about it.
std::string open_error_text(int err, bool hardware) {
  std::string text = std::strerror(err);
  switch (err) {
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
      return text + (hardware ? ": not supported on this machine (no hardware PMU?)"
                              : ": not supported by this kernel");
    case EACCES:
    case EPERM:
      return text + ": needs root or CAP_PERFMON (or a lower kernel.perf_event_paranoid)";
    case EINVAL:
      return text +
             (hardware ? ": the PMU does not know this event" : ": the kernel does not know this event");
    case EMFILE:
    case ENFILE:
      return text + ": too many open files (raise the limit with ulimit -n)";
    case EBUSY:
      return text + ": the PMU is in use by another tool";
    default:
      return text;
  }
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

DirPtr open_dir(const std::string& path) {
  return DirPtr(::opendir(path.c_str()));
}

// The whole of a small /proc or /sys file, "" when it cannot be read.
std::string read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 65536) break;
  }
  ::close(fd);
  return out;
}

bool is_core_pmu_name(std::string_view name) {
  static constexpr std::string_view kExact[] = {"cpu", "cpu_core", "cpu_atom"};
  static constexpr std::string_view kPrefixes[] = {"armv8_", "armv7_",    "armv6_", "arm_cortex",
                                                   "apple_", "riscv_pmu", "cpum_cf"};
  for (std::string_view e : kExact) {
    if (name == e) return true;
  }
  for (std::string_view p : kPrefixes) {
    if (name.substr(0, p.size()) == p) return true;
  }
  return false;
}

constexpr uint32_t kMaxFrequencyHz = 100'000;

}  // namespace

Expected<std::vector<model::CounterInfo>> parse_counter_list(std::string_view list) {
  if (trim(list).empty())
    return make_error("no counters given: -e takes a comma-separated list, e.g. -e cycles,instructions");
  std::vector<model::CounterInfo> out;
  size_t pos = 0;
  for (;;) {
    const size_t comma = list.find(',', pos);
    const std::string_view item =
        trim(list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos));
    if (item.empty())
      return make_error("empty counter name in '" + std::string(list) +
                        "': names are separated by single commas");

    model::CounterInfo info;
    uint64_t raw_config = 0;
    if (const CatalogEntry* e = find_entry(item)) {
      info = info_of(*e);
    } else if (parse_raw(item, raw_config)) {
      info = model::CounterInfo{lower(item), PERF_TYPE_RAW, raw_config, true, false};
    } else {
      return make_error("unknown counter '" + std::string(item) + "'; known counters: " + known_counters());
    }
    for (const model::CounterInfo& seen : out) {
      if (seen.type == info.type && seen.config == info.config)
        return make_error("counter '" + std::string(item) + "' is given twice" +
                          (seen.name != item ? " (as " + seen.name + ")" : std::string()));
    }
    out.push_back(std::move(info));
    if (out.size() > kMaxCounters)
      return make_error("too many counters: goscope counts at most " + std::to_string(kMaxCounters) +
                        " at once");

    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::vector<model::CounterInfo> default_counters() {
  static constexpr const char* kDefault[] = {
      "task-clock", "context-switches", "cpu-migrations",          "page-faults",
      "cycles",     "instructions",     "cache-references",        "cache-misses",
      "branches",   "branch-misses",    "stalled-cycles-frontend", "stalled-cycles-backend",
  };
  static_assert(std::size(kDefault) <= kMaxCounters);
  std::vector<model::CounterInfo> out;
  out.reserve(std::size(kDefault));
  for (const char* name : kDefault) out.push_back(info_of(*find_entry(name)));
  return out;
}

PmuInfo detect_pmu() {
  PmuInfo pmu;
  if (DirPtr dir = open_dir("/sys/bus/event_source/devices")) {
    while (const dirent* d = ::readdir(dir.get())) {
      if (is_core_pmu_name(d->d_name)) {
        pmu.name = d->d_name;
        break;
      }
    }
  }

  // sysfs can list a PMU that counts nothing (some hypervisors): only an open says.
  perf_event_attr attr{};
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  const int fd = perf_event_open(attr, 0, -1);
  const int err = fd < 0 ? errno : 0;
  if (fd >= 0) ::close(fd);

  // Without permission the open proves nothing: trust the device then.
  pmu.hardware = fd >= 0 || (!pmu.name.empty() && (err == EACCES || err == EPERM));
  if (pmu.hardware) {
    if (pmu.name.empty()) pmu.name = "cpu";
    return pmu;
  }
  const char* consequence =
      ": hardware counters read <not supported>; software counters and cpu-clock sampling work";
  if (pmu.name.empty()) {
    pmu.note = std::string("this machine has no hardware PMU (a virtual machine?)") + consequence;
  } else {
    pmu.note = "this machine has no hardware PMU that counts (its '" + pmu.name +
               "' PMU refuses cycles: " + std::strerror(err) + ")" + consequence;
    pmu.name.clear();
  }
  return pmu;
}

std::vector<pid_t> list_threads(pid_t pid) {
  std::vector<pid_t> out;
  if (pid <= 0) return out;
  DirPtr dir = open_dir("/proc/" + std::to_string(pid) + "/task");
  if (!dir) return out;
  while (const dirent* d = ::readdir(dir.get())) {
    const std::string_view name = d->d_name;
    pid_t tid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
    if (ec == std::errc() && end == name.data() + name.size() && tid > 0) out.push_back(tid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string thread_name(pid_t pid, pid_t tid) {
  if (pid <= 0 || tid <= 0) return {};
  std::string comm =
      read_small_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

// ThreadCounters

Expected<ThreadCounters> ThreadCounters::open(pid_t tid, std::span<const model::CounterInfo> counters) {
  if (tid <= 0) return make_error("cannot count thread " + std::to_string(tid) + ": not a thread id");
  ThreadCounters tc;
  tc.tid_ = tid;
  tc.fds_.reserve(counters.size());
  tc.errors_.reserve(counters.size());
  for (const model::CounterInfo& c : counters) {
    perf_event_attr attr{};
    attr.type = c.type;
    attr.config = c.config;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    attr.exclude_hv = 1;
    const int fd = perf_event_open(attr, tid, -1);
    if (fd < 0) {
      const int err = errno;
      if (err == ESRCH)
        return Error::from_errno("cannot count thread " + std::to_string(tid) + " (it has exited)", err);
      tc.fds_.push_back(-1);
      tc.errors_.push_back(open_error_text(err, c.hardware));
      continue;
    }
    tc.fds_.push_back(fd);
    tc.errors_.emplace_back();
  }
  return tc;
}

std::vector<model::CounterValue> ThreadCounters::read() const {
  std::vector<model::CounterValue> out(fds_.size());
  for (size_t i = 0; i < fds_.size(); ++i) {
    model::CounterValue& v = out[i];
    if (fds_[i] < 0) {
      v.state = model::CounterState::kNotSupported;
      continue;
    }
    // value, time enabled, time running (read_format without ID or GROUP).
    uint64_t buf[3] = {};
    ssize_t n;
    do {
      n = ::read(fds_[i], buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof buf)) {
      v.state = model::CounterState::kNotCounted;
      continue;
    }
    v.raw = buf[0];
    v.enabled_ns = buf[1];
    v.running_ns = buf[2];
    v.state = v.running_ns == 0 ? model::CounterState::kNotCounted : model::CounterState::kCounted;
  }
  return out;
}

// CpuSampler

Expected<CpuSampler> CpuSampler::open(const SamplerOptions& options) {
  const uint32_t hz = options.frequency_hz;
  if (hz == 0 || hz > kMaxFrequencyHz)
    return make_error("sampling frequency " + std::to_string(hz) + " Hz is out of range: use 1 to " +
                      std::to_string(kMaxFrequencyHz) + " Hz");
  const std::vector<int> cpus = online_cpus();
  if (cpus.empty()) return make_error("cannot sample: no online CPU found in /sys/devices/system/cpu/online");

  CpuSampler sampler;
  sampler.hz_ = hz;
  int last_err = 0;
  auto open_all = [&](bool hardware) {
    for (int cpu : cpus) {
      perf_event_attr attr{};
      if (hardware) {
        attr.type = PERF_TYPE_HARDWARE;
        attr.config = PERF_COUNT_HW_CPU_CYCLES;
        attr.freq = 1;
        attr.sample_freq = hz;
        attr.exclude_hv = 1;
        // Pinned: never multiplexed away by stat's hardware counters (each sample is
        // taken to stand for 1/hz of CPU time).
        attr.pinned = 1;
      } else {
        // A fixed period: every sample stands for exactly period_ns of CPU time.
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.sample_period = static_cast<uint64_t>(sampler.period_ns());
      }
      const int fd = perf_event_open(attr, -1, cpu);
      if (fd < 0) {
        last_err = errno;
        continue;
      }
      sampler.fds_.push_back(fd);
    }
  };

  if (options.prefer_hardware) {
    open_all(true);
    if (!sampler.fds_.empty()) sampler.event_ = "cycles";
  }
  if (sampler.fds_.empty()) {
    open_all(false);
    sampler.event_ = "cpu-clock";
  }
  if (sampler.fds_.empty()) {
    std::string what = "cannot open a " + sampler.event_ + " sampling event on any CPU";
    if (last_err == EACCES || last_err == EPERM)
      what += " (run goscope as root or with CAP_PERFMON, or lower kernel.perf_event_paranoid to -1)";
    return Error::from_errno(std::move(what), last_err);
  }
  return sampler;
}

OwnedFds& OwnedFds::operator=(OwnedFds&& other) noexcept {
  if (this != &other) {
    OwnedFds gone(std::move(*this));
    fds_ = std::exchange(other.fds_, {});
  }
  return *this;
}

OwnedFds::~OwnedFds() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  text = trim(text);
  if (text.empty()) return cpus;
  auto number = [](std::string_view s, int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out >= 0 && out <= kMaxCpuNumber;
  };
  size_t pos = 0;
  for (;;) {
    const size_t comma = text.find(',', pos);
    const std::string_view item = text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    const size_t dash = item.find('-');
    int first = 0;
    int last = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, first)) return {};
      last = first;
    } else if (!number(item.substr(0, dash), first) || !number(item.substr(dash + 1), last) || last < first) {
      return {};
    }
    for (int c = first; c <= last; ++c) cpus.push_back(c);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::vector<int> online_cpus() {
  std::vector<int> cpus = parse_cpu_list(read_small_file("/sys/devices/system/cpu/online"));
  if (!cpus.empty()) return cpus;
  // No sysfs (a container without /sys?): every configured CPU; offline ones fail to open.
  const long n = sysconf(_SC_NPROCESSORS_CONF);
  for (int c = 0; c < n && c <= kMaxCpuNumber; ++c) cpus.push_back(c);
  return cpus;
}

}  // namespace goscope::loader
