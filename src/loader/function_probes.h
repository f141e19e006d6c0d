// `goscope probe`: a plain entry uprobe on named Go functions. Where each probe goes
// (the instruction after the stack-check prologue, by file offset), the offsets BPF
// needs, and what a gs_probe_hit record says. Plans from the symbolizer's view of one
// binary and decodes records: no BPF here, so both are unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "goscope.h"
#include "model/probe_hit.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

struct FunctionProbe {
  std::string function;
  uint64_t vaddr = 0;        // ELF virtual address of the probed instruction
  uint64_t file_offset = 0;  // what the uprobe is attached by
};

struct FunctionProbePlan {
  std::vector<FunctionProbe> probes;  // in the order asked; the index is the attach cookie
  std::vector<std::string> absent;    // names the binary does not have (the program never uses them)
  gs_go_offsets offsets{};            // only g_goid: a hit reads nothing else
};

// Plans a probe for each named function. Errors: runtime.g.goid's offset unknown, a present
// function whose code cannot take a probe. Absent names are listed, not errors: the plan may
// be empty (the caller says so).
Expected<FunctionProbePlan> plan_function_probes(const sym::GoBinary& binary,
                                                 const std::vector<std::string>& functions);

// The hit a ring-buffer record reports; nullopt for a malformed one (too short, another
// record type, a probe the plan does not have). The hit's function is a view into `plan`.
std::optional<model::ProbeHit> decode_probe_hit(std::span<const uint8_t> record,
                                                const FunctionProbePlan& plan);

}  // namespace goscope::loader
