// What `goscope trace` prints for each event: one readable line (perf-script
// like) or one JSON object (JSON lines, a schema scripts and the privileged
// tests rely on: fields are added, never renamed).
//
// Text:
//     0.012345  g12     park         chan receive on chan 0xc000020060          main.worker (main.go:42)
//   time since t0 (s), the goroutine acting, the kind, details, and the site: the
//   first frame of the program's own code (state::SymbolizedStack::site).
//
// JSON, always: "t" (s since t0), "time_ns", "kind", "goid", "tid", "stack" (every
// frame, innermost first: {"func","file","line"}), "site" ("file:line") and "func"
// when there is a site, "flags" when any is set; per kind, see event_format.cpp.
//
// Symbolization is cached per stack and per address (state::StackSymbolizer, shared
// with the filter and the state model) and rendered stacks per stack id, so a stream
// of hundreds of thousands of events per second costs lookups, not symbolization.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "symbolizer/symbolizer.h"

namespace goscope::output {

// Kinds of events by what they are about: filter groups and text colors.
enum class EventCategory { kScheduling, kChannel, kSync, kGc };
EventCategory category_of(model::EventKind kind);
const char* category_name(EventCategory c);  // "sched", "chan", "sync", "gc"

struct FormatOptions {
  bool color = false;         // ANSI colors (the caller decides: never when not a terminal)
  bool show_runtime = false;  // list runtime frames too in the stacks under events
  int stack_frames = 0;       // frames listed under each event, from the site on; 0: only the site
  bool addresses = false;     // code addresses next to sites and frames
};

class EventFormatter {
 public:
  // `info` is copied, except the stack table it points to, which must outlive the formatter.
  EventFormatter(const sym::GoBinary& binary, const model::StreamInfo& info, FormatOptions options);
  // Shares an existing symbolization cache (of the same binary and stack table).
  EventFormatter(std::shared_ptr<const state::StackSymbolizer> symbols, const model::StreamInfo& info,
                 FormatOptions options);

  // The event as text: one line, plus options.stack_frames lines of stack under it;
  // no trailing newline.
  std::string text(const model::Event& e, int64_t t0_ns) const;
  // The event as one line of JSON (no newline): what a stream of events writes.
  std::string json_text(const model::Event& e, int64_t t0_ns) const;
  // The same as a JSON value (parsed from json_text: the schema is written in one place).
  nlohmann::json json(const model::Event& e, int64_t t0_ns) const;

  // "main.worker (main.go:42)" for the site of a stack; for a stack of the runtime only,
  // the caller of its innermost function; "" for no stack.
  std::string site_text(model::StackId stack) const;
  // The runtime's name of a wait reason, or "wait reason N" when the binary has none.
  std::string reason_text(uint32_t wait_reason) const;
  // "chan 0xc000020060", "sync.Mutex 0xc0000180a0".
  static std::string object_text(uint64_t address, model::ObjectKind kind);

  const std::shared_ptr<const state::StackSymbolizer>& symbols() const { return symbols_; }
  const model::StreamInfo& stream() const { return info_; }
  const FormatOptions& options() const { return options_; }

 private:
  struct RenderedStack {
    std::string site_text;    // as site_text() returns it
    std::string json_fields;  // "site":..,"func":..,"stack":[..] serialized
  };
  const RenderedStack& rendered(model::StackId stack) const;
  std::string details(const model::Event& e) const;
  std::string text_site(const model::Event& e) const;
  void add_stack_lines(std::string& out, model::StackId stack) const;
  // Serialized JSON fields, cached: a go statement's "created_at","created_in"; a goroutine
  // function's "start_func"; a wait reason's name as a JSON value.
  const std::string& creation_fields(uint64_t pc) const;
  const std::string& start_fields(uint64_t start_pc) const;
  const std::string& quoted_reason(uint32_t wait_reason) const;

  std::shared_ptr<const state::StackSymbolizer> symbols_;
  model::StreamInfo info_;
  FormatOptions options_;
  mutable std::vector<std::unique_ptr<RenderedStack>> rendered_;  // by stack id
  mutable std::unordered_map<uint64_t, std::string> creation_fields_;
  mutable std::unordered_map<uint64_t, std::string> start_fields_;
  mutable std::unordered_map<uint32_t, std::string> quoted_reasons_;
  RenderedStack no_stack_;
};

}  // namespace goscope::output
