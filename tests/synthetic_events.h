// Events built by hand whose stacks are made of addresses of real functions of
// a real Go binary (pipeline, built by Go 1.22), so that symbolization, sites
// and filters are tested on what the symbolizer really returns.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "model/event.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

namespace goscope::testing {

class SyntheticEvents {
 public:
  // Opens testprogs/<version>/default/<prog>; check ok() (a missing binary is a test failure).
  explicit SyntheticEvents(const std::string& prog = "pipeline", const std::string& version = "1.22")
      : prog_(prog) {
    auto b = sym::GoBinary::open(testprog(version, "default", prog));
    if (!b) {
      ADD_FAILURE() << b.error().message;
      return;
    }
    binary = *b;
    info.stacks = &stacks;
    info.wait_reasons = binary->offsets().wait_reasons;
  }
  SyntheticEvents(const SyntheticEvents&) = delete;  // info.stacks points into it
  SyntheticEvents& operator=(const SyntheticEvents&) = delete;
  bool ok() const { return binary != nullptr; }

  // Entry address of a function (a test failure when the binary has none).
  uint64_t entry(const std::string& function) const {
    auto a = binary->function_address(function);
    if (!a) ADD_FAILURE() << "no function " << function << " in the test binary";
    return a.value_or(0);
  }
  // A return address in `function`: looked up one byte back, it is the function's entry.
  uint64_t in(const std::string& function) const { return entry(function) + 1; }

  // A return address in `function` whose call is at `line` of the program's main.go.
  uint64_t call_at(const std::string& function, int line) const {
    const auto& tab = binary->pclntab();
    auto idx = tab.function_named(function);
    if (!idx) {
      ADD_FAILURE() << "no function " << function;
      return 0;
    }
    for (uint64_t pc = tab.function_entry(*idx); pc < tab.function_end(*idx); pc++) {
      const auto frames = tab.frames_at(pc);
      if (frames.size() == 1 && frames[0].line == line) return pc + 1;
    }
    ADD_FAILURE() << function << " has no code at line " << line;
    return 0;
  }

  // The line of the one source line of testprogs/<prog>/main.go matching `pattern`.
  int source_line(const std::string& pattern) const {
    std::ifstream in(std::string(GOSCOPE_SOURCE_DIR) + "/tests/testprogs/" + prog_ + "/main.go");
    std::string line;
    std::optional<int> found;
    const std::regex re(pattern);
    for (int n = 1; std::getline(in, line); n++) {
      if (!std::regex_search(line, re)) continue;
      if (found) ADD_FAILURE() << "two lines match " << pattern;
      found = n;
    }
    if (!found) ADD_FAILURE() << "no line of " << prog_ << "/main.go matches " << pattern;
    return found.value_or(0);
  }

  // The runtime's waitReason number of a name ("chan receive").
  uint32_t reason(const std::string& name) const {
    for (size_t i = 0; i < info.wait_reasons.size(); i++)
      if (info.wait_reasons[i] == name) return static_cast<uint32_t>(i);
    ADD_FAILURE() << "no wait reason " << name;
    return 0;
  }

  model::StackId stack(std::initializer_list<uint64_t> pcs) {
    return stacks.intern(std::vector<uint64_t>(pcs));
  }

  static model::Event event(model::EventKind kind, uint64_t goid, int64_t time_ns, model::StackId stack = 0) {
    model::Event e;
    e.kind = kind;
    e.goid = goid;
    e.time_ns = time_ns;
    e.stack = stack;
    e.tid = 4242;
    return e;
  }

  std::shared_ptr<const sym::GoBinary> binary;
  model::StackTable stacks;
  model::StreamInfo info;

 private:
  std::string prog_;
};

}  // namespace goscope::testing
