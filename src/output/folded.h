// Folded stacks, the text format flamegraph.pl and speedscope read: one line per
// distinct stack, "outermost;caller;leaf value", frames named like "pkg.func".
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "common/expected.h"
#include "output/pprof.h"

namespace goscope::output {

// Folds samples by their stacks, summing values[value_index] (e.g. the index of
// "delay" in a block profile). Inlined frames are frames of their own, as in
// pprof. Lines are sorted so equal input gives equal output; stacks whose sum
// is zero, and samples without frames, are left out. Fails when a sample has no value at value_index.
Expected<std::string> folded_stacks(std::span<const Sample> samples, size_t value_index);

Expected<void> write_folded_file(const std::string& path, std::span<const Sample> samples,
                                 size_t value_index);

}  // namespace goscope::output
