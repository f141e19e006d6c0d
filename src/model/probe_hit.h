// One hit of `goscope probe`'s plain entry probe on a Go function, as the loader
// decodes it from the ring buffer and output/ prints it. Plain data: process
// addresses as read, never symbolized here.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace goscope::model {

struct ProbeHit {
  uint64_t ktime_ns = 0;  // CLOCK_MONOTONIC when it fired
  uint32_t tid = 0;
  uint64_t goid = 0;            // 0 when unknown (not on a goroutine, or unreadable)
  size_t probe = 0;             // which probe of the plan fired
  std::string_view function;    // its Go name (a view into the plan: valid while the plan lives)
  uint64_t ip = 0;              // process address of the probed instruction
  uint64_t return_address = 0;  // [sp] at the entry: where the immediate caller resumes
  // Process address = ELF vaddr + load_bias: the probe's address minus where it was planned,
  // so a PIE target's callers are symbolized without reading /proc (also after it exited).
  uint64_t load_bias = 0;
  // The integer argument registers of Go's register ABI, in order: RAX RBX RCX RDI RSI R8 R9 R10 R11.
  std::array<uint64_t, 9> args{};
};

}  // namespace goscope::model
