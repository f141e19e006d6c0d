// Which of the capabilities goscope needs does this process have?
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"

namespace goscope::loader {

enum class Need {
  kBpf,        // load programs, create maps, attach uprobes
  kReadMemory  // process_vm_readv of another user's process
};

// Ok when every capability `needs` requires is effective; otherwise an error
// naming exactly what is missing and how to get it.
Expected<void> check_privileges(const std::vector<Need>& needs);

}  // namespace goscope::loader
