// Files goscope writes under sudo belong to the user who ran sudo, not root.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace goscope {

// Gives `path` to SUDO_UID:SUDO_GID when running as root under sudo; a no-op otherwise.
inline void give_to_invoking_user(const std::string& path) {
  if (geteuid() != 0) return;
  const char* uid = std::getenv("SUDO_UID");
  const char* gid = std::getenv("SUDO_GID");
  if (!uid || !gid) return;
  (void)!chown(path.c_str(), static_cast<uid_t>(std::strtoul(uid, nullptr, 10)),
               static_cast<gid_t>(std::strtoul(gid, nullptr, 10)));
}

}  // namespace goscope
