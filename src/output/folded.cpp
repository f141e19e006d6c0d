#include "output/folded.h"

#include <cstdio>
#include <map>
#include <vector>

namespace goscope::output {

namespace {

// ';' separates frames and a line ends the stack: neither may appear in a name.
// Go names never hold them; a corrupt or foreign symbol might.
std::string frame_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == ';' || c == '\n' || c == '\r') c = '_';
  }
  return out;
}

std::string unsymbolized_name(uint64_t address) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(address));
  return buf;
}

// Samples keep the leaf first and, inside a location, the innermost inlined
// frame first; folded stacks want the opposite: root first.
std::string fold(const Sample& sample) {
  std::string stack;
  for (auto location = sample.stack.rbegin(); location != sample.stack.rend(); ++location) {
    if (location->lines.empty()) {
      if (!stack.empty()) stack += ';';
      stack += unsymbolized_name(location->address);
    }
    for (auto line = location->lines.rbegin(); line != location->lines.rend(); ++line) {
      if (!stack.empty()) stack += ';';
      stack += frame_name(line->function);
    }
  }
  return stack;
}

}  // namespace

Expected<std::string> folded_stacks(std::span<const Sample> samples, size_t value_index) {
  std::map<std::string, int64_t> totals;
  for (const Sample& sample : samples) {
    if (value_index >= sample.values.size()) {
      return make_error("cannot fold stacks by value " + std::to_string(value_index) +
                        ": a sample has only " + std::to_string(sample.values.size()) + " values");
    }
    totals[fold(sample)] += sample.values[value_index];
  }
  std::string out;
  for (const auto& [stack, total] : totals) {
    if (total == 0 || stack.empty()) continue;
    out += stack;
    out += ' ';
    out += std::to_string(total);
    out += '\n';
  }
  return out;
}

Expected<void> write_folded_file(const std::string& path, std::span<const Sample> samples,
                                 size_t value_index) {
  GS_TRY(auto text, folded_stacks(samples, value_index));
  return write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace goscope::output
