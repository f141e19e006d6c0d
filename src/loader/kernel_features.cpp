#include "loader/kernel_features.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/user_files.h"
#include "loader/uprobe_multi_link.h"

namespace goscope::loader {

std::string errno_name(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return "errno " + std::to_string(err);
}

const char* support_name(Support s) {
  switch (s) {
    case Support::kYes:
      return "yes";
    case Support::kNo:
      return "no";
    case Support::kUnknown:
      break;
  }
  return "unknown";
}

namespace feature_probe {

namespace {

FeatureAnswer answer(Support s, std::string how) {
  return FeatureAnswer{s, std::move(how)};
}

// An errno that says nothing about the feature itself: the probe could not run.
std::optional<FeatureAnswer> probe_could_not_run(int err, const std::string& step) {
  if (err == EPERM || err == EACCES)
    return answer(Support::kUnknown, step + " was not permitted (" + errno_name(err) +
                                         "): probing needs root, or CAP_BPF and CAP_PERFMON");
  if (err == ENOSYS)
    return answer(Support::kNo,
                  "this kernel has no bpf() system call (ENOSYS: built without CONFIG_BPF_SYSCALL)");
  return std::nullopt;
}

// Given a path, one offset and no flags or target fd (a newer kernel refuses those
// with EINVAL), the kernel's uprobe_multi code first fails at the path: "/" resolves
// and is not a regular file (EBADF). Only a kernel with the PID filter fix refuses a
// PID below 0 (EINVAL) before looking at the path.
bool reached_uprobe_multi_path_check(int err) {
  return err == EBADF || err == ENOENT || err == 0;
}

}  // namespace

FeatureAnswer read_ringbuf(int create_err) {
  if (create_err == 0) return answer(Support::kYes, "a BPF_MAP_TYPE_RINGBUF map was created");
  if (auto a = probe_could_not_run(create_err, "creating a BPF map")) return *a;
  if (create_err == EINVAL)
    return answer(Support::kNo,
                  "the kernel refused a BPF_MAP_TYPE_RINGBUF map (EINVAL): it does not know the type");
  return answer(Support::kUnknown,
                "creating a BPF_MAP_TYPE_RINGBUF map failed (" + errno_name(create_err) + ")");
}

FeatureAnswer read_attach_cookie(int cookie_err, int plain_err) {
  if (cookie_err == 0)
    return answer(Support::kYes, "a kprobe-type program calling bpf_get_attach_cookie was loaded");
  if (auto a = probe_could_not_run(cookie_err, "loading a BPF program")) return *a;
  if (cookie_err == EINVAL && plain_err == 0)
    return answer(Support::kNo,
                  "the verifier refused bpf_get_attach_cookie in a kprobe-type program (EINVAL), and loads "
                  "the same program without the call: the helper is unknown here");
  if (cookie_err == EINVAL && plain_err == EINVAL)
    return answer(Support::kNo,
                  "this kernel loads no kprobe-type program at all, not even `r0 = 0; exit` (EINVAL): "
                  "no BPF for kprobes and uprobes (CONFIG_BPF_EVENTS)");
  return answer(Support::kUnknown, "loading a kprobe-type program calling bpf_get_attach_cookie failed (" +
                                       errno_name(cookie_err) + ")");
}

FeatureAnswer read_uprobe_multi(int load_err, int link_err, int pid_err) {
  if (load_err != 0) {
    if (auto a = probe_could_not_run(load_err, "loading a BPF program")) return *a;
    if (load_err == EINVAL)
      return answer(Support::kNo,
                    "the kernel refused a kprobe-type program expecting uprobe_multi links (EINVAL)");
    return answer(Support::kUnknown, "loading a probe program failed (" + errno_name(load_err) + ")");
  }
  if (link_err == EINVAL)
    return answer(Support::kNo, "BPF_LINK_CREATE does not know the uprobe_multi attach type (EINVAL)");
  if (link_err == EOPNOTSUPP)
    return answer(
        Support::kNo,
        "the kernel knows uprobe_multi links but cannot make them (EOPNOTSUPP: built without uprobes)");
  if (auto a = probe_could_not_run(link_err, "BPF_LINK_CREATE")) return *a;
  if (!reached_uprobe_multi_path_check(link_err))
    return answer(Support::kUnknown, "BPF_LINK_CREATE uprobe_multi on \"/\" failed with " +
                                         errno_name(link_err) +
                                         ", neither EINVAL (attach type unknown) nor EBADF (its path check)");
  const std::string reached =
      "BPF_LINK_CREATE reached the uprobe_multi path check (" + errno_name(link_err) + " for \"/\")";
  if (pid_err == EINVAL)
    return answer(Support::kYes, reached + " and refuses PID -1 (EINVAL): its links filter by process");
  if (reached_uprobe_multi_path_check(pid_err))
    return answer(Support::kNo,
                  reached + " but takes PID -1 (" + errno_name(pid_err) +
                      "): its links filter by thread, not process, and would miss every thread but one "
                      "(a kernel without the uprobe_multi PID filter fix of Linux 6.10)");
  return answer(Support::kUnknown, reached + ", and with PID -1 failed with " + errno_name(pid_err));
}

bool btf_has_name(std::span<const uint8_t> btf, std::string_view name) {
  // struct btf_header: u16 magic, u8 version, u8 flags, u32 hdr_len, u32 type_off,
  // u32 type_len, u32 str_off, u32 str_len; offsets count from the header's end.
  constexpr uint16_t kBtfMagic = 0xeB9F;
  struct Header {
    uint16_t magic;
    uint8_t version, flags;
    uint32_t hdr_len, type_off, type_len, str_off, str_len;
  } h{};
  if (btf.size() < sizeof h || name.empty()) return false;
  std::memcpy(&h, btf.data(), sizeof h);
  if (h.magic != kBtfMagic) return false;
  const uint64_t begin = uint64_t{h.hdr_len} + h.str_off, end = begin + h.str_len;
  if (h.hdr_len < sizeof h || end > btf.size()) return false;
  // Strings are NUL-terminated one after the other, the first one empty: a whole
  // string is `name` NUL with a NUL before it. (memmem: NULs are everywhere, a search
  // that starts from one is slow.)
  const char* strings = reinterpret_cast<const char*>(btf.data() + begin);
  const std::string needle = std::string(name) + '\0';
  for (size_t at = 1; at < h.str_len;) {
    const void* hit = memmem(strings + at, h.str_len - at, needle.data(), needle.size());
    if (!hit) return false;
    const size_t pos = static_cast<size_t>(static_cast<const char*>(hit) - strings);
    if (strings[pos - 1] == '\0') return true;
    at = pos + 1;
  }
  return false;
}

}  // namespace feature_probe

namespace {

struct bpf_insn insn(uint8_t code, uint8_t dst, int32_t imm) {
  struct bpf_insn i {};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.imm = imm;
  return i;
}
const struct bpf_insn kReturnZero[] = {insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0),
                                       insn(BPF_JMP | BPF_EXIT, 0, 0)};
const struct bpf_insn kReturnCookie[] = {insn(BPF_JMP | BPF_CALL, 0, BPF_FUNC_get_attach_cookie),
                                         insn(BPF_JMP | BPF_EXIT, 0, 0)};

// Loads a kprobe-type program (the type of uprobe programs): the program, and the
// errno of loading it (0: loaded).
struct Loaded {
  UniqueFd fd;
  int err = 0;
};
Loaded load_kprobe_program(std::span<const struct bpf_insn> insns, uint32_t expected_attach_type) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts,
              .expected_attach_type = static_cast<enum bpf_attach_type>(expected_attach_type));
  const int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, nullptr, "GPL", insns.data(), insns.size(), &opts);
  if (fd < 0) return {UniqueFd(), errno};
  return {UniqueFd(fd), 0};
}

// One page of BPF_MAP_TYPE_RINGBUF.
FeatureAnswer probe_ringbuf() {
  const long page = sysconf(_SC_PAGESIZE);
  const int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, nullptr, 0, 0,
                                static_cast<uint32_t>(page > 0 ? page : 4096), nullptr);
  const int err = fd < 0 ? errno : 0;
  UniqueFd map(fd);
  return feature_probe::read_ringbuf(err);
}

// The verifier refuses a call to a helper it does not know for the program type.
FeatureAnswer probe_attach_cookie() {
  const Loaded cookie = load_kprobe_program(kReturnCookie, 0);
  const int plain_err = cookie.err == EINVAL ? load_kprobe_program(kReturnZero, 0).err : 0;
  return feature_probe::read_attach_cookie(cookie.err, plain_err);
}

// Never attaches anything: "/" is not a regular file. libbpf (>= 1.3) reads its
// probe_uprobe_multi_link the same way.
FeatureAnswer probe_uprobe_multi() {
  const Loaded prog = load_kprobe_program(kReturnZero, kAttachTraceUprobeMulti);
  if (prog.err) return feature_probe::read_uprobe_multi(prog.err, 0, 0);
  const uint64_t offset = 0;
  auto link_err = [&](int32_t pid) {
    const int fd = create_uprobe_multi_link(prog.fd.get(), "/", &offset, nullptr, 1, pid);
    const int err = fd < 0 ? errno : 0;
    UniqueFd link(fd);
    return err;
  };
  // Both calls always: read_uprobe_multi looks at the second only when the first
  // reached the uprobe_multi code.
  const int err = link_err(0);
  return feature_probe::read_uprobe_multi(0, err, link_err(-1));
}

KernelFeatures probe_kernel_features() {
  const int64_t t0 = monotonic_ns();
  KernelFeatures f;
  f.ringbuf = probe_ringbuf();
  f.attach_cookie = probe_attach_cookie();
  f.uprobe_multi = probe_uprobe_multi();
  f.probe_ns = monotonic_ns() - t0;
  return f;
}

}  // namespace

const KernelFeatures& kernel_features() {
  static const KernelFeatures features = probe_kernel_features();
  return features;
}

std::string missing_required_features(const KernelFeatures& f) {
  std::string missing;
  auto add = [&missing](const std::string& text) { missing += (missing.empty() ? "" : ", and ") + text; };
  if (f.ringbuf.no())
    add("no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, in Linux 5.8 and later; " + f.ringbuf.how + ")");
  if (f.attach_cookie.no())
    add("no BPF attach cookies for uprobes (bpf_get_attach_cookie, in Linux 5.15 and later; " +
        f.attach_cookie.how + "), which tell goscope which probe fired");
  return missing.empty() ? "" : "goscope cannot run on this kernel: it has " + missing;
}

HookAttachPath choose_hook_attach_path(const FeatureAnswer& uprobe_multi, const char* env_uprobe_multi) {
  const std::string per_site = "one uprobe link per site (no uprobe_multi: ";
  if (env_uprobe_multi && std::string_view(env_uprobe_multi) == "0")
    return {false, per_site + "GOSCOPE_UPROBE_MULTI=0)"};
  if (uprobe_multi.yes()) return {true, "uprobe_multi (one link)"};
  return {false, per_site + (uprobe_multi.no() ? "" : "not probed: ") + uprobe_multi.how + ")"};
}

HookAttachPath hook_attach_path() {
  return choose_hook_attach_path(kernel_features().uprobe_multi, std::getenv("GOSCOPE_UPROBE_MULTI"));
}

bool kernel_has_bpf_mem_alloc() {
  static const bool has = [] {
    UniqueFd fd(::open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    std::vector<uint8_t> btf;
    if (struct stat st{}; ::fstat(fd.get(), &st) == 0 && st.st_size > 0)
      btf.reserve(static_cast<size_t>(st.st_size));
    uint8_t buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) btf.insert(btf.end(), buf, buf + n);
    if (n < 0) return false;
    return feature_probe::btf_has_name(btf, "bpf_mem_alloc");
  }();
  return has;
}

}  // namespace goscope::loader
