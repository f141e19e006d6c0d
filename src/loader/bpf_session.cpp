#include "loader/bpf_session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdarg>
#include <mutex>

#include "goscope_bpf.skel.h"

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

// goscope needs the BPF ring buffer (5.8) and uprobe attach cookies (5.15).
constexpr int kMinKernelMajor = 5, kMinKernelMinor = 15;

// "" when the running kernel is new enough (or its version cannot be parsed), else why not.
std::string kernel_too_old() {
  utsname u{};
  if (uname(&u) != 0) return "";
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return "";
  if (major > kMinKernelMajor || (major == kMinKernelMajor && minor >= kMinKernelMinor)) return "";
  return std::string("this kernel (") + u.release + ") is too old: goscope needs Linux " +
         std::to_string(kMinKernelMajor) + "." + std::to_string(kMinKernelMinor) +
         " or newer (BPF ring buffer, uprobe cookies)";
}

}  // namespace

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

  std::unique_ptr<BpfSession> s(new BpfSession());
  s->skel_.reset(goscope_bpf__open());
  if (!s->skel_) return Error::from_errno("cannot open goscope's BPF object", errno);

  s->skel_->rodata->go_offsets = opts.offsets;
  if (int err = bpf_map__set_max_entries(s->skel_->maps.events, opts.ringbuf_bytes); err)
    return Error::from_errno("cannot size the ring buffer", err);

  if (int err = goscope_bpf__load(s->skel_.get()); err) {
    std::string msg = "the kernel refused goscope's BPF programs";
    if (std::string old = kernel_too_old(); !old.empty()) return make_error(old);
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

BpfSession::~BpfSession() = default;

Expected<void> BpfSession::attach_probe_hit(const std::string& binary, uint64_t file_offset, pid_t pid,
                                            uint64_t cookie) {
  return attach(skel_->progs.gs_probe_hit, binary, file_offset, pid, cookie);
}

Expected<void> BpfSession::attach_hook(const std::string& binary, uint64_t file_offset, pid_t pid,
                                       uint64_t cookie) {
  return attach(skel_->progs.gs_hook, binary, file_offset, pid, cookie);
}

Expected<void> BpfSession::set_site_config(uint32_t slot, const gs_site_config& config) {
  if (slot >= GS_MAX_SLOTS) return make_error("too many probe site kinds (a goscope bug)");
  if (int err = bpf_map__update_elem(skel_->maps.site_config, &slot, sizeof slot, &config, sizeof config, 0);
      err)
    return Error::from_errno("cannot configure a probe site", err);
  return {};
}

Expected<void> BpfSession::attach(bpf_program* prog, const std::string& binary, uint64_t file_offset, pid_t pid,
                                  uint64_t cookie) {
  LIBBPF_OPTS(bpf_uprobe_opts, uopts, .bpf_cookie = cookie, .retprobe = false);
  bpf_link* link =
      bpf_program__attach_uprobe_opts(prog, pid, binary.c_str(), static_cast<size_t>(file_offset), &uopts);
  if (!link) {
    char off[32];
    std::snprintf(off, sizeof off, "0x%lx", static_cast<unsigned long>(file_offset));
    const int err = errno;
    if (access("/sys/bus/event_source/devices/uprobe", F_OK) != 0)
      return make_error("this kernel has no uprobes (CONFIG_UPROBES / CONFIG_UPROBE_EVENTS): goscope cannot trace");
    return Error::from_errno("cannot attach a uprobe to " + binary + " at file offset " + off, err);
  }
  links_.emplace_back(link);
  return {};
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
  if (n == -EINTR) return 0;
  if (n < 0) return Error::from_errno("reading the BPF ring buffer failed", n);
  return n;
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
