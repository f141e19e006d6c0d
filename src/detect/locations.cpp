#include "detect/locations.h"

#include <algorithm>
#include <string>

namespace goscope::detect {

Location to_location(const state::CodeFrame& frame) {
  Location l;
  l.function = std::string(frame.function);
  l.file = std::string(frame.file);
  l.line = frame.line;
  l.pc = frame.pc;
  l.inlined = frame.inlined;
  return l;
}

std::vector<Location> to_locations(const state::SymbolizedStack& stack, size_t max) {
  std::vector<Location> out;
  const size_t n = std::min(max, stack.frames.size());
  out.reserve(n);
  for (size_t i = 0; i < n; i++) out.push_back(to_location(stack.frames[i]));
  return out;
}

}  // namespace goscope::detect
