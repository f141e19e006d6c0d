// Which events `goscope trace` shows: by goroutine, object, function or package
// on the stack, and kind. Values of one criterion are alternatives (OR); the
// criteria given must all hold (AND). By default the runtime's own activity is
// hidden: events of its goroutines (GC workers, the scavenger...) and parks with
// nothing but runtime frames on the stack.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/expected.h"
#include "state/state_model.h"
#include "state/stack_symbolizer.h"
#include "model/event.h"

namespace goscope::output {

struct FilterSpec {
  // Goroutine ids; an event matches as the goroutine acting or the one acted on
  // (the wakee of a ready, the parent of a creation).
  std::vector<uint64_t> goids;
  std::vector<std::string> objects;  // channels, mutexes... as Go's %p prints them: "0xc000020060"
  // Glob patterns ("main.*", "*.worker", "main.(*Server).handle") matched against
  // every function on the stack, inlined ones included, and a created goroutine's function.
  std::vector<std::string> functions;
  // Package paths ("net/http"): a frame of the package or of one below it ("net/http/httputil").
  std::vector<std::string> packages;
  // Event kind names (model::event_kind_name: "park", "chan-send"...) or groups: "sched"
  // (go-create go-exit park ready status), "chan" (chan-* select), "sync" or "lock"
  // (sync-*, mutex-*, rlock, runlock, wg-wait, cond-*), "gc" (stw-begin stw-end).
  std::vector<std::string> kinds;
  bool include_runtime = false;
};

class EventFilter {
 public:
  // Errors: an unknown kind, an object that is not an address, an empty pattern.
  // `symbols` is shared with the formatter. `state` (may be null) tells which
  // goroutines are the runtime's; apply each event to it before asking accepts().
  static Expected<EventFilter> make(const FilterSpec& spec,
                                    std::shared_ptr<const state::StackSymbolizer> symbols,
                                    const state::StateModel* state);

  bool accepts(const model::Event& e) const;

 private:
  EventFilter() = default;
  bool runtime_only(const model::Event& e) const;
  bool is_runtime_goroutine(uint64_t goid) const;
  // Whether any frame of the event (stack, a created goroutine's function) passes `test`,
  // cached per stack for one of the two criteria.
  template <typename Test>
  bool any_function(const model::Event& e, std::unordered_map<model::StackId, bool>& cache, Test test) const;
  bool function_matches(std::string_view function) const;
  bool package_matches(std::string_view function) const;

  std::shared_ptr<const state::StackSymbolizer> symbols_;
  const state::StateModel* state_ = nullptr;
  std::unordered_set<uint64_t> goids_;
  std::unordered_set<uint64_t> objects_;
  std::vector<std::string> functions_;
  std::vector<std::string> packages_;
  std::bitset<static_cast<size_t>(model::EventKind::kCount_)> kinds_;
  bool any_kind_ = true;
  bool include_runtime_ = false;
  mutable std::unordered_map<model::StackId, bool> function_cache_;
  mutable std::unordered_map<model::StackId, bool> package_cache_;
};

}  // namespace goscope::output
