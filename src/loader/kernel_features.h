// What this kernel's BPF can do, found by trying each thing once (as retsnoop's
// calibration and libbpf's feature probes do), never from the version number:
// distribution kernels (RHEL, Ubuntu HWE) carry backports, and a version number
// says nothing about a fix that went into a stable release. The probes run on
// first use, once per process, in well under a millisecond; each answer keeps
// how it was read, for `goscope inspect` and for error messages.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace goscope::loader {

enum class Support : uint8_t {
  kYes,
  kNo,
  kUnknown,  // the probe could not tell (no privileges, an error it does not know)
};

const char* support_name(Support s);  // "yes", "no", "unknown"

struct FeatureAnswer {
  Support support = Support::kUnknown;
  std::string how;  // what the probe saw, e.g. "the verifier refused the helper (EINVAL)"
  bool yes() const { return support == Support::kYes; }
  bool no() const { return support == Support::kNo; }
};

struct KernelFeatures {
  FeatureAnswer ringbuf;        // BPF_MAP_TYPE_RINGBUF (Linux 5.8)
  FeatureAnswer attach_cookie;  // bpf_get_attach_cookie in kprobe-type (uprobe) programs (5.15)
  FeatureAnswer uprobe_multi;   // uprobe_multi links that filter by process (6.6, PID filter fixed in 6.10)
  int64_t probe_ns = 0;         // what the three probes took
};

// The answers for this kernel: probed on the first call (thread-safe), then kept.
const KernelFeatures& kernel_features();

// Why goscope cannot run here ("" when it can, or when the probes could not tell:
// loading the BPF object then says why): the ring buffer and attach cookies are
// required, and the message names the missing feature and the Linux that has it.
std::string missing_required_features(const KernelFeatures& f);

// How runtime hooks are attached: one uprobe_multi link for all sites (detaching
// N probes then costs one kernel wait instead of N), or one uprobe link per site.
// GOSCOPE_UPROBE_MULTI=0 forces one link per site (tests, and a way out).
struct HookAttachPath {
  bool uprobe_multi = false;
  std::string text;  // "uprobe_multi (one link)" / "one uprobe link per site (no uprobe_multi: WHY)"
};
HookAttachPath hook_attach_path();
HookAttachPath choose_hook_attach_path(const FeatureAnswer& uprobe_multi, const char* env_uprobe_multi);

// Whether the kernel has the BPF memory allocator (bpf_mem_alloc, Linux 6.1), with
// which hash maps allocate at run time safely from tracing programs; without it the
// verifier WARNs (a panic under panic_on_warn) when a uprobe program uses a hash map
// that is not preallocated. Trying that would be the WARN itself, so this probe looks
// for the allocator's name among the strings of the kernel's BTF (/sys/kernel/btf/vmlinux,
// read once, ~5 ms here, mostly the read; false without BTF, and the map is then
// preallocated). Asked only when such a map is used (goscope stat's goroutine counters).
bool kernel_has_bpf_mem_alloc();

// How each probe's result is read: pure functions of the errno a step saw (0: the
// call succeeded), so the reading is tested without a kernel.
namespace feature_probe {

// Creating a one-page BPF_MAP_TYPE_RINGBUF map.
FeatureAnswer read_ringbuf(int create_err);
// Loading `call bpf_get_attach_cookie; exit` as a kprobe program, and, only when that
// failed with EINVAL, `r0 = 0; exit` (plain_err): tells an unknown helper from a
// kernel that loads no kprobe programs at all.
FeatureAnswer read_attach_cookie(int cookie_err, int plain_err);
// Loading `r0 = 0; exit` as a kprobe program expecting uprobe_multi (load_err), then
// BPF_LINK_CREATE uprobe_multi on path "/" (link_err), then the same with PID -1
// (pid_err). Nothing is ever attached: "/" is not a regular file.
FeatureAnswer read_uprobe_multi(int load_err, int link_err, int pid_err);
// Whether raw BTF (a struct btf_header, then types and strings) has `name` among its strings.
bool btf_has_name(std::span<const uint8_t> btf, std::string_view name);

}  // namespace feature_probe

// "EINVAL", "EBADF"...: errno names, which is how the kernel's sources speak.
std::string errno_name(int err);

}  // namespace goscope::loader
