// One loaded instance of goscope's BPF object: the skeleton, its links and
// its ring buffer, each owned once (RAII). Dropping the session detaches every
// probe; so does goscope dying, since links are file descriptors.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "goscope.h"

struct goscope_bpf;  // the generated skeleton
struct bpf_link;
struct ring_buffer;
struct bpf_program;

namespace goscope::loader {

// Called for every ring-buffer record; the bytes are only valid during the call.
using RecordHandler = std::function<void(std::span<const uint8_t>)>;

struct SessionOptions {
  gs_go_offsets offsets{};
  uint32_t ringbuf_bytes = GS_RINGBUF_DEFAULT_BYTES;
  // Records wake the consumer only once 1/16 of the ring is waiting; poll() drains the
  // ring on every return, timeout included, so a record waits at most the poll timeout.
  // Off: the kernel's default, a wake-up whenever the consumer had caught up, which at
  // moderate rates is one wake-up (an interrupt and a cross-CPU reschedule, paid by the
  // traced thread) per record.
  bool batch_wakeups = true;
  // goscope stat / CPU profiles. Programs not asked for are not even loaded.
  gs_pmu_config pmu{};
  bool cpu_samples = false;    // gs_cpu_sample (perf_event)
  bool thread_events = false;  // gs_thread_fork (tp_btf/sched_process_fork)
  bool sched_counters = false; // gs_sched (uprobes on runtime.execute / runtime.schedule)
};

// Offsets of task_struct fields in the running kernel, from its BTF (0: not found).
// CPU samples read thread.fsbase (the thread's TLS base) at this offset, without it
// they carry no goroutine; thread creation records read pid and tgid.
struct KernelTaskOffsets {
  uint32_t fsbase = 0;  // thread.fsbase
  uint32_t pid = 0;
  uint32_t tgid = 0;
};
KernelTaskOffsets kernel_task_offsets();

class BpfSession {
 public:
  // Opens and loads (verifies) the BPF object with these settings.
  static Expected<std::unique_ptr<BpfSession>> load(const SessionOptions& opts);
  ~BpfSession();
  BpfSession(const BpfSession&) = delete;
  BpfSession& operator=(const BpfSession&) = delete;

  // A plain uprobe (never a uretprobe) on the instruction at `file_offset` of
  // `binary`, for process `pid` only; `cookie` comes back in each record.
  Expected<void> attach_probe_hit(const std::string& binary, uint64_t file_offset, pid_t pid,
                                  uint64_t cookie);
  // Runtime hook sites (program gs_hook): one uprobe per file offset of `binary`, for
  // process `pid`, each with its cookie GS_COOKIE(slot, ...); the slots must have been
  // configured with set_site_config first.
  struct HookSite {
    uint64_t file_offset;
    uint64_t cookie;
  };
  Expected<void> attach_hooks(const std::string& binary, std::span<const HookSite> sites, pid_t pid);
  // Whether hooks go through one uprobe_multi link (hook_attach_path() in kernel_features.h).
  bool uses_uprobe_multi() const { return multi_; }
  Expected<void> set_site_config(uint32_t slot, const gs_site_config& config);
  size_t attached() const { return links_.size(); }
  // Detaches every probe now (the destructor does it too), overlapping the kernel's waits.
  void detach_all();

  // CPU sampling: gs_cpu_sample on each of these perf events (one per CPU).
  Expected<void> attach_sampler(std::span<const int> perf_fds);
  // Thread creation records (GS_EV_THREAD) for the configured process.
  Expected<void> attach_thread_events();
  // A scheduler point (GS_SCHED_EXECUTE / GS_SCHED_SCHEDULE) at `file_offset` of `binary`.
  Expected<void> attach_sched(const std::string& binary, uint64_t file_offset, pid_t pid,
                              enum gs_sched_point point);
  // Hands BPF the counting events of thread `tid` (fds by counter, -1 where not
  // supported), stored at `slot`.
  Expected<void> set_thread_counters(pid_t tid, uint32_t slot, uint32_t gen, std::span<const int> fds);
  // Every goroutine's totals so far (goid 0: what ran outside goroutines).
  std::vector<std::pair<uint64_t, gs_pmu_goroutine>> goroutine_counters() const;

  // Starts delivering records to `handler` from poll().
  Expected<void> open_ring(RecordHandler handler);
  // Waits up to timeout_ms for records (or for the wake-up threshold) and hands each
  // record in the ring to the handler.
  // Returns how many were handled, or an error (EINTR is not an error).
  Expected<int> poll(int timeout_ms);
  // Handles whatever is already in the ring without waiting.
  Expected<int> drain();

  // Sum over CPUs of every BPF counter (enum gs_counter).
  std::array<uint64_t, GS_CNT__COUNT> counters() const;

  // Everything libbpf said while loading, for error reports and -v.
  static std::string libbpf_log();

 private:
  BpfSession() = default;
  static int on_record(void* ctx, void* data, size_t size);
  Expected<void> attach(bpf_program* prog, const std::string& binary, uint64_t file_offset, pid_t pid,
                        uint64_t cookie);

  struct SkelDeleter {
    void operator()(struct goscope_bpf* s) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* l) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };
  // Declared in destruction order: ring and links go before the skeleton.
  std::unique_ptr<struct goscope_bpf, SkelDeleter> skel_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  RecordHandler handler_;
  bool multi_ = false;
  int multi_link_fd_ = -1;  // the uprobe_multi link, when used
};

}  // namespace goscope::loader
