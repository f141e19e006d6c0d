// `goscope probe`'s hits as text lines or JSON lines: when (since the start), which
// thread and goroutine, the function, its first arguments and the caller, named
// from the binary's code (state::StackSymbolizer: each caller looked up once).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "state/code_info.h"
#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "model/probe_hit.h"

namespace goscope::output {

class ProbeHitPrinter {
 public:
  // `start_ns`: CLOCK_MONOTONIC of the start, times are printed from it. `json`: one object a line.
  ProbeHitPrinter(std::shared_ptr<const state::CodeInfo> code, int64_t start_ns, bool json);

  // The hit, one line (JSON) or two (text), written to `out` (not flushed).
  void print(std::FILE* out, const model::ProbeHit& hit) const;

  // "main.worker (/src/app/main.go:42)" for the caller, plus the calls inlined there
  // ("... via inlined main.a main.b", outermost first); "" when unknown.
  std::string describe_caller(const model::ProbeHit& hit) const;

 private:
  model::StackTable no_stacks_;  // the symbolizer looks up single addresses only
  state::StackSymbolizer symbols_;
  int64_t start_ns_ = 0;
  bool json_ = false;
};

}  // namespace goscope::output
