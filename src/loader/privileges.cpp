#include "loader/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace goscope::loader {

namespace {

constexpr int kCapSysPtrace = 19;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

uint64_t effective_caps() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return 0;
  return static_cast<uint64_t>(data[0].effective) | (static_cast<uint64_t>(data[1].effective) << 32);
}

bool has(uint64_t caps, int cap) {
  return (caps >> cap) & 1;
}

}  // namespace

Expected<void> check_privileges(const std::vector<Need>& needs) {
  const uint64_t caps = effective_caps();
  std::string missing;
  auto add = [&](const char* name) {
    if (!missing.empty()) missing += ", ";
    missing += name;
  };
  for (Need n : needs) {
    switch (n) {
      case Need::kBpf:
        // CAP_SYS_ADMIN covers both on kernels older than 5.8 and still does.
        if (has(caps, kCapSysAdmin)) break;
        if (!has(caps, kCapBpf)) add("CAP_BPF");
        if (!has(caps, kCapPerfmon)) add("CAP_PERFMON");
        break;
      case Need::kReadMemory:
        if (!has(caps, kCapSysPtrace) && geteuid() != 0) add("CAP_SYS_PTRACE");
        break;
    }
  }
  if (missing.empty()) return {};
  return make_error("goscope needs root, or these capabilities: " + missing +
                    ". Run it with sudo, or grant them: sudo setcap cap_bpf,cap_perfmon,cap_sys_ptrace+ep "
                    "$(which goscope)");
}

}  // namespace goscope::loader
