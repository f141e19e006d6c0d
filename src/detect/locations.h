// Symbolized frames turned into the self-contained locations findings carry
// (detect/findings.h): the strings are copied out of the binary, so a finding
// outlives the state::StackSymbolizer and the binary it read.
#pragma once

#include <cstddef>
#include <vector>

#include "detect/findings.h"
#include "state/stack_symbolizer.h"

namespace goscope::detect {

// An unknown frame (no function) gives a Location with only its pc: !known().
Location to_location(const state::CodeFrame& frame);
// The first `max` frames of `stack`, innermost first, runtime and unknown ones included.
std::vector<Location> to_locations(const state::SymbolizedStack& stack, size_t max);

}  // namespace goscope::detect
