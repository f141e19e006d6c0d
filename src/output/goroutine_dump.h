// A goroutine dump of a process snapshot (model::ProcessSnapshot, read from the
// process's memory): as text in the shape of the Go runtime's own traceback
// (SIGQUIT with GOTRACEBACK=all), goroutines with identical stacks grouped like
// pprof's goroutine?debug=1 when there are many; as JSON, streamed one goroutine
// a line; and as the goroutine profile `go tool pprof` reads.
//
//   goroutine 7 [chan receive, 3 minutes]:
//   main.worker(...)
//   	/src/app/main.go:42 +0x5e
//   created by main.main in goroutine 1
//   	/src/app/main.go:20 +0x85
//   	waits on channel 0xc000020060
//
// Code facts come from a state::StackSymbolizer (each address looked up once, shared
// with whoever else symbolizes the same binary). Frames are looked up as the runtime's
// traceback does: one byte back, in the call instruction, except at a function's entry
// (a goroutine that has not started yet). `goscope dump` prints one; a live view can
// render a fresh snapshot with the same renderer every time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "state/stack_symbolizer.h"
#include "model/snapshot.h"
#include "symbolizer/sync_objects.h"

namespace goscope::output {

enum class DumpGrouping {
  kAuto,  // group identical stacks when more than GoroutineDumpOptions::group_above are shown
  kAlways,
  kNever,
};

struct GoroutineDumpOptions {
  bool system = false;          // the runtime's own goroutines and frames too (GOTRACEBACK=system)
  bool runtime_frames = false;  // runtime.* frames of the goroutines shown
  DumpGrouping group = DumpGrouping::kAuto;
  size_t group_above = 100;
};

// Process address -> ELF vaddr of the executable; nullopt outside its mappings (a
// library, a JIT, a corrupt pc). Live: sym::ProcessImage::to_vaddr.
using ProcessToVaddr = std::function<std::optional<uint64_t>(uint64_t)>;

class GoroutineDumpRenderer {
 public:
  // `symbols`: the executable's code; `exe_name`: how it is named in headers.
  GoroutineDumpRenderer(std::shared_ptr<const state::StackSymbolizer> symbols, ProcessToVaddr to_vaddr,
                        std::string exe_name);

  // The dump as text: a header line, then every goroutine shown (the runtime's own only
  // with `system`), or groups of them. Not flushed.
  void write_text(std::FILE* out, const model::ProcessSnapshot& snapshot,
                  const GoroutineDumpOptions& o) const;

  // The dump as one JSON object (every goroutine, the runtime's own and all their frames
  // included), streamed one goroutine a line; `read_ms`: how long reading the snapshot took;
  // `analysis`, when given, is added as "analysis". Not flushed.
  void write_json(std::FILE* out, const model::ProcessSnapshot& snapshot, double read_ms,
                  const nlohmann::json* analysis) const;

  // The goroutine profile as /debug/pprof/goroutine writes it (see profiles.h): one sample
  // per goroutine, labelled with its id and state, every location symbolized.
  Expected<void> write_profile(const std::string& path, const model::ProcessSnapshot& snapshot,
                               bool include_system) const;

  // One of the runtime's own goroutines (state::is_system_goroutine of its start function).
  bool is_system(const model::GoroutineSnapshot& g) const;

 private:
  struct ShownFrame;
  using GroupMembers = std::span<const model::GoroutineSnapshot* const>;

  std::vector<ShownFrame> frames_at(uint64_t pc) const;
  std::string physical_function(uint64_t pc) const;
  std::vector<ShownFrame> stack_frames(const model::GoroutineSnapshot& g, bool runtime_frames) const;
  std::string describe_wait(const model::GoroutineSnapshot& g, const model::WaitedObject& w) const;
  std::optional<sym::SyncObject> semaphore_owner(const model::GoroutineSnapshot& g, uint64_t semaphore) const;
  void write_body(std::FILE* out, GroupMembers group, const GoroutineDumpOptions& o) const;
  void write_goroutine_json(std::FILE* out, const model::ProcessSnapshot& s,
                            const model::GoroutineSnapshot& g, bool first) const;

  std::shared_ptr<const state::StackSymbolizer> symbols_;
  ProcessToVaddr to_vaddr_;
  std::string exe_name_;
};

}  // namespace goscope::output
