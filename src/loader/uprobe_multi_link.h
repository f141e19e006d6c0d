// BPF_LINK_CREATE for a uprobe_multi link (Linux 6.6), spelled out: Debian
// bookworm's libbpf 1.1 and kernel headers predate it. The layout is the
// kernel's union bpf_attr, link_create member, uprobe_multi variant. Used by
// BpfSession to attach every hook site at once and by the feature probe.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace goscope::loader {

constexpr int kBpfLinkCreate = 28;
constexpr uint32_t kAttachTraceUprobeMulti = 48;

struct UprobeMultiLinkAttr {
  uint32_t prog_fd;
  uint32_t target_fd;
  uint32_t attach_type;
  uint32_t flags;
  uint64_t path;
  uint64_t offsets;
  uint64_t ref_ctr_offsets;
  uint64_t cookies;
  uint32_t cnt;
  uint32_t multi_flags;
  uint32_t pid;
  uint32_t pad;
};

// One uprobe_multi link of `prog_fd` on `cnt` file offsets of `path`, for process `pid`
// (0: every process); `cookies` may be null. The link's fd, or -1 with errno set.
inline int create_uprobe_multi_link(int prog_fd, const char* path, const uint64_t* offsets,
                                    const uint64_t* cookies, uint32_t cnt, int32_t pid) {
  UprobeMultiLinkAttr attr{};
  attr.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = kAttachTraceUprobeMulti;
  attr.path = reinterpret_cast<uint64_t>(path);
  attr.offsets = reinterpret_cast<uint64_t>(offsets);
  attr.cookies = reinterpret_cast<uint64_t>(cookies);
  attr.cnt = cnt;
  attr.pid = static_cast<uint32_t>(pid);
  return static_cast<int>(syscall(__NR_bpf, kBpfLinkCreate, &attr, sizeof attr));
}

}  // namespace goscope::loader
