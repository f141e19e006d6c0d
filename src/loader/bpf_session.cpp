#include "loader/bpf_session.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "goscope_bpf.skel.h"
#include "loader/kernel_features.h"
#include "loader/uprobe_multi_link.h"

namespace goscope::loader {

namespace {

std::mutex g_log_mu;
std::string g_log;

int collect_libbpf_output(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  std::lock_guard lock(g_log_mu);
  if (g_log.size() < (1u << 20)) g_log += buf;
  return n;
}

}  // namespace

namespace {
// Byte offset of member `name` of struct `type_id` in `btf`, looking into anonymous
// struct/union members too; nullopt when absent or a bitfield.
std::optional<uint32_t> member_offset(const btf* b, uint32_t type_id, std::string_view name, int depth = 0) {
  const btf_type* t = btf__type_by_id(b, type_id);
  if (!t || !(btf_is_struct(t) || btf_is_union(t)) || depth > 4) return std::nullopt;
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
    const uint32_t bits = btf_member_bit_offset(t, i);
    if (bits % 8 || btf_member_bitfield_size(t, i)) continue;
    const char* n = btf__name_by_offset(b, m->name_off);
    if (n && name == n) return bits / 8;
    if (n && *n) continue;
    // An anonymous struct or union: its members belong to this struct.
    const int inner = btf__resolve_type(b, m->type);
    if (inner < 0) continue;
    if (auto off = member_offset(b, static_cast<uint32_t>(inner), name, depth + 1)) return bits / 8 + *off;
  }
  return std::nullopt;
}
}  // namespace

KernelTaskOffsets kernel_task_offsets() {
  KernelTaskOffsets k;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return k;
  const int task = btf__find_by_name_kind(vmlinux, "task_struct", BTF_KIND_STRUCT);
  if (task > 0) {
    const auto id = static_cast<uint32_t>(task);
    k.pid = member_offset(vmlinux, id, "pid").value_or(0);
    k.tgid = member_offset(vmlinux, id, "tgid").value_or(0);
    // thread is a struct thread_struct member: fsbase is inside it.
    const btf_type* t = btf__type_by_id(vmlinux, id);
    const btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
      const char* n = btf__name_by_offset(vmlinux, m->name_off);
      if (!n || std::string_view(n) != "thread" || btf_member_bit_offset(t, i) % 8) continue;
      const int ts = btf__resolve_type(vmlinux, m->type);
      if (ts < 0) break;
      if (auto fs = member_offset(vmlinux, static_cast<uint32_t>(ts), "fsbase"))
        k.fsbase = btf_member_bit_offset(t, i) / 8 + *fs;
      break;
    }
  }
  btf__free(vmlinux);
  return k;
}

void BpfSession::SkelDeleter::operator()(struct goscope_bpf* s) const {
  goscope_bpf__destroy(s);
}
void BpfSession::LinkDeleter::operator()(bpf_link* l) const {
  bpf_link__destroy(l);
}
void BpfSession::RingDeleter::operator()(ring_buffer* r) const {
  ring_buffer__free(r);
}

std::string BpfSession::libbpf_log() {
  std::lock_guard lock(g_log_mu);
  return g_log;
}

Expected<std::unique_ptr<BpfSession>> BpfSession::load(const SessionOptions& opts) {
  libbpf_set_print(collect_libbpf_output);
  // Features the probes could not judge (no privileges) are left to the load to refuse.
  if (std::string missing = missing_required_features(kernel_features()); !missing.empty())
    return make_error(missing);

  std::unique_ptr<BpfSession> s(new BpfSession());
  s->skel_.reset(goscope_bpf__open());
  if (!s->skel_) return Error::from_errno("cannot open goscope's BPF object", errno);

  s->skel_->rodata->go_offsets = opts.offsets;
  s->skel_->rodata->pmu_config = opts.pmu;
  // GOSCOPE_RING_WAKEUP=each: a wake-up per record, as before batching (benchmarks compare).
  const char* wake_env = getenv("GOSCOPE_RING_WAKEUP");
  const bool batch = opts.batch_wakeups && !(wake_env && std::string(wake_env) == "each");
  s->skel_->rodata->ring_wakeup_bytes = batch ? opts.ringbuf_bytes / 16 : 0;
  bpf_program__set_autoload(s->skel_->progs.gs_cpu_sample, opts.cpu_samples);
  bpf_program__set_autoload(s->skel_->progs.gs_thread_fork, opts.thread_events);
  bpf_program__set_autoload(s->skel_->progs.gs_sched, opts.sched_counters);
  if (opts.sched_counters && !kernel_has_bpf_mem_alloc()) {
    // gs_sched's goroutine map allocates at run time; without the BPF memory allocator
    // the verifier WARNs (a panic with panic_on_warn) when a uprobe program uses such a
    // map: preallocate a smaller one.
    bpf_map__set_map_flags(s->skel_->maps.pmu_goroutines, 0);
    bpf_map__set_max_entries(s->skel_->maps.pmu_goroutines, 16384);
  }
  // Load only the variant of the hook program that will be attached: each costs a verification.
  s->multi_ = hook_attach_path().uprobe_multi;
  bpf_program__set_autoload(s->multi_ ? s->skel_->progs.gs_hook : s->skel_->progs.gs_hook_multi, false);
  if (s->multi_)
    bpf_program__set_expected_attach_type(s->skel_->progs.gs_hook_multi,
                                          static_cast<enum bpf_attach_type>(kAttachTraceUprobeMulti));
  if (int err = bpf_map__set_max_entries(s->skel_->maps.events, opts.ringbuf_bytes); err)
    return Error::from_errno("cannot size the ring buffer", err);

  if (int err = goscope_bpf__load(s->skel_.get()); err) {
    std::string msg = "the kernel refused goscope's BPF programs";
    if (access("/sys/fs/bpf", F_OK) != 0 && access("/proc/sys/kernel/unprivileged_bpf_disabled", F_OK) != 0)
      msg += " (this kernel seems to be built without BPF: CONFIG_BPF_SYSCALL)";
    else if (err == -EPERM || errno == EPERM)
      msg += " (permission denied: run as root, or with CAP_BPF and CAP_PERFMON)";
    std::string log = libbpf_log();
    if (!log.empty()) msg += "\nlibbpf said:\n" + log;
    return Error::from_errno(msg, err);
  }
  return s;
}

BpfSession::~BpfSession() {
  detach_all();
}

void BpfSession::detach_all() {
  if (multi_link_fd_ >= 0) {
    close(multi_link_fd_);
    multi_link_fd_ = -1;
  }
  // Removing a uprobe waits for the kernel to be sure no CPU still runs its handler
  // (a grace period, ~0.1 s on these machines), one probe after the other: 200 probes
  // took 30 s to detach. Closing from many threads lets those waits overlap.
  constexpr size_t kMaxThreads = 64;
  if (links_.size() < 4) {
    links_.clear();
    return;
  }
  const size_t nthreads = std::min(kMaxThreads, links_.size());
  std::vector<std::thread> threads;
  threads.reserve(nthreads);
  std::atomic<size_t> next{0};
  for (size_t i = 0; i < nthreads; i++) {
    threads.emplace_back([this, &next] {
      for (size_t k = next++; k < links_.size(); k = next++) links_[k].reset();
    });
  }
  for (auto& t : threads) t.join();
  links_.clear();
}

Expected<void> BpfSession::attach_probe_hit(const std::string& binary, uint64_t file_offset, pid_t pid,
                                            uint64_t cookie) {
  return attach(skel_->progs.gs_probe_hit, binary, file_offset, pid, cookie);
}

Expected<void> BpfSession::attach_hooks(const std::string& binary, std::span<const HookSite> sites,
                                        pid_t pid) {
  if (sites.empty()) return {};
  if (!multi_) {
    for (const HookSite& h : sites)
      GS_CHECK(attach(skel_->progs.gs_hook, binary, h.file_offset, pid, h.cookie));
    return {};
  }
  if (multi_link_fd_ >= 0) return make_error("runtime hooks are already attached (a goscope bug)");
  std::vector<uint64_t> offsets, cookies;
  for (const HookSite& h : sites) {
    offsets.push_back(h.file_offset);
    cookies.push_back(h.cookie);
  }
  const int fd = create_uprobe_multi_link(bpf_program__fd(skel_->progs.gs_hook_multi), binary.c_str(),
                                          offsets.data(), cookies.data(), static_cast<uint32_t>(sites.size()),
                                          static_cast<int32_t>(pid));
  if (fd < 0) {
    const int err = errno;
    if (access("/sys/bus/event_source/devices/uprobe", F_OK) != 0)
      return make_error(
          "this kernel has no uprobes (CONFIG_UPROBES / CONFIG_UPROBE_EVENTS): goscope cannot trace");
    return Error::from_errno("cannot attach " + std::to_string(sites.size()) + " uprobes to " + binary +
                                 " (set GOSCOPE_UPROBE_MULTI=0 to attach them one by one)",
                             err);
  }
  multi_link_fd_ = fd;
  return {};
}

Expected<void> BpfSession::set_site_config(uint32_t slot, const gs_site_config& config) {
  if (slot >= GS_MAX_SLOTS) return make_error("too many probe site kinds (a goscope bug)");
  if (int err = bpf_map__update_elem(skel_->maps.site_config, &slot, sizeof slot, &config, sizeof config, 0);
      err)
    return Error::from_errno("cannot configure a probe site", err);
  return {};
}

Expected<void> BpfSession::attach(bpf_program* prog, const std::string& binary, uint64_t file_offset,
                                  pid_t pid, uint64_t cookie) {
  LIBBPF_OPTS(bpf_uprobe_opts, uopts, .bpf_cookie = cookie, .retprobe = false);
  bpf_link* link =
      bpf_program__attach_uprobe_opts(prog, pid, binary.c_str(), static_cast<size_t>(file_offset), &uopts);
  if (!link) {
    char off[32];
    std::snprintf(off, sizeof off, "0x%lx", static_cast<unsigned long>(file_offset));
    const int err = errno;
    if (access("/sys/bus/event_source/devices/uprobe", F_OK) != 0)
      return make_error(
          "this kernel has no uprobes (CONFIG_UPROBES / CONFIG_UPROBE_EVENTS): goscope cannot trace");
    return Error::from_errno("cannot attach a uprobe to " + binary + " at file offset " + off, err);
  }
  links_.emplace_back(link);
  return {};
}

Expected<void> BpfSession::attach_sampler(std::span<const int> perf_fds) {
  for (int fd : perf_fds) {
    // The link closes the perf event's fd when it goes: it gets its own copy.
    const int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) return Error::from_errno("cannot duplicate a perf event descriptor", errno);
    bpf_link* link = bpf_program__attach_perf_event(skel_->progs.gs_cpu_sample, own);
    if (!link) {
      const int err = errno;
      close(own);
      return Error::from_errno("cannot attach the CPU sampling program to a perf event", err);
    }
    links_.emplace_back(link);
  }
  return {};
}

Expected<void> BpfSession::attach_thread_events() {
  bpf_link* link = bpf_program__attach_trace(skel_->progs.gs_thread_fork);
  if (!link)
    return Error::from_errno("cannot attach to the kernel's sched_process_fork tracepoint (BTF needed)", errno);
  links_.emplace_back(link);
  return {};
}

Expected<void> BpfSession::attach_sched(const std::string& binary, uint64_t file_offset, pid_t pid,
                                        enum gs_sched_point point) {
  return attach(skel_->progs.gs_sched, binary, file_offset, pid, static_cast<uint64_t>(point));
}

Expected<void> BpfSession::set_thread_counters(pid_t tid, uint32_t slot, uint32_t gen,
                                               std::span<const int> fds) {
  if (slot >= GS_PMU_MAX_THREADS || fds.size() > GS_PMU_MAX_EVENTS)
    return make_error("too many threads or counters for BPF (a goscope bug)");
  const int array = bpf_map__fd(skel_->maps.pmu_counters);
  for (uint32_t i = 0; i < fds.size(); i++) {
    const uint32_t key = slot * GS_PMU_MAX_EVENTS + i;
    if (fds[i] < 0) {
      bpf_map_delete_elem(array, &key);
      continue;
    }
    const uint32_t fd = static_cast<uint32_t>(fds[i]);
    if (bpf_map_update_elem(array, &key, &fd, BPF_ANY) != 0)
      return Error::from_errno("cannot hand a thread's counters to BPF", errno);
  }
  const uint32_t key = static_cast<uint32_t>(tid);
  const gs_pmu_slot value{slot, gen};
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.pmu_threads), &key, &value, BPF_ANY) != 0)
    return Error::from_errno("cannot register a thread with BPF", errno);
  return {};
}

std::vector<std::pair<uint64_t, gs_pmu_goroutine>> BpfSession::goroutine_counters() const {
  std::vector<std::pair<uint64_t, gs_pmu_goroutine>> out;
  const int fd = bpf_map__fd(skel_->maps.pmu_goroutines);
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    gs_pmu_goroutine value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) out.emplace_back(next, value);
    key = next;
    prev = &key;
  }
  return out;
}

int BpfSession::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<BpfSession*>(ctx);
  self->handler_(std::span<const uint8_t>(static_cast<const uint8_t*>(data), size));
  return 0;
}

Expected<void> BpfSession::open_ring(RecordHandler handler) {
  handler_ = std::move(handler);
  ring_.reset(ring_buffer__new(bpf_map__fd(skel_->maps.events), &BpfSession::on_record, this, nullptr));
  if (!ring_) return Error::from_errno("cannot open the BPF ring buffer", errno);
  return {};
}

Expected<int> BpfSession::poll(int timeout_ms) {
  int n = ring_buffer__poll(ring_.get(), timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return Error::from_errno("reading the BPF ring buffer failed", n);
  // Records below the wake-up threshold raise no epoll event: take them now.
  GS_TRY(int more, drain());
  return n + more;
}

Expected<int> BpfSession::drain() {
  int n = ring_buffer__consume(ring_.get());
  if (n < 0 && n != -EINTR) return Error::from_errno("reading the BPF ring buffer failed", n);
  return n < 0 ? 0 : n;
}

std::array<uint64_t, GS_CNT__COUNT> BpfSession::counters() const {
  std::array<uint64_t, GS_CNT__COUNT> total{};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return total;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  const int fd = bpf_map__fd(skel_->maps.counters);
  for (uint32_t k = 0; k < GS_CNT__COUNT; k++) {
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) continue;
    for (uint64_t v : per_cpu) total[k] += v;
  }
  return total;
}

}  // namespace goscope::loader
