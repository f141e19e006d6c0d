#include "output/event_filter.h"

#include <fnmatch.h>

#include <charconv>
#include <optional>
#include <string_view>

#include "output/event_format.h"

namespace goscope::output {

using model::Event;
using model::EventKind;

namespace {

std::optional<uint64_t> parse_address(std::string_view s) {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string kind_names() {
  std::string names;
  for (size_t k = 0; k < static_cast<size_t>(EventKind::kCount_); k++)
    names += std::string(names.empty() ? "" : ", ") + model::event_kind_name(static_cast<EventKind>(k));
  return names;
}

}  // namespace

Expected<EventFilter> EventFilter::make(const FilterSpec& spec,
                                        std::shared_ptr<const state::StackSymbolizer> symbols,
                                        const state::StateModel* state) {
  EventFilter f;
  f.symbols_ = std::move(symbols);
  f.state_ = state;
  f.include_runtime_ = spec.include_runtime;
  for (uint64_t goid : spec.goids) {
    if (goid == 0) return make_error("goroutine filter: 0 is no goroutine id (ids start at 1)");
    f.goids_.insert(goid);
  }
  for (const auto& o : spec.objects) {
    auto address = parse_address(o);
    if (!address)
      return make_error("object filter '" + o +
                        "' is not an address: give it as Go's %p prints it, e.g. 0xc000012080");
    f.objects_.insert(*address);
  }
  for (const auto& p : spec.functions) {
    if (p.empty())
      return make_error("function filter: empty pattern (use a glob such as 'main.*' or '*.worker')");
    f.functions_.push_back(p);
  }
  for (std::string p : spec.packages) {
    while (!p.empty() && p.back() == '/') p.pop_back();
    if (p.empty())
      return make_error("package filter: empty package path (give one such as 'net/http' or 'main')");
    f.packages_.push_back(std::move(p));
  }
  for (const auto& name : spec.kinds) {
    bool known = false;
    for (size_t k = 0; k < static_cast<size_t>(EventKind::kCount_); k++) {
      const auto kind = static_cast<EventKind>(k);
      const bool in_group = name == category_name(category_of(kind)) ||
                            (name == "lock" && category_of(kind) == EventCategory::kSync);
      if (name == model::event_kind_name(kind) || in_group) {
        f.kinds_.set(k);
        known = true;
      }
    }
    if (!known)
      return make_error("unknown event kind '" + name + "': use one of " + kind_names() +
                        ", or a group: sched, chan, sync (or lock), gc");
  }
  f.any_kind_ = spec.kinds.empty();
  return f;
}

bool EventFilter::function_matches(std::string_view function) const {
  const std::string name(function);
  for (const auto& p : functions_)
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

bool EventFilter::package_matches(std::string_view function) const {
  const std::string_view pkg = state::package_of(function);
  for (const auto& p : packages_)
    if (pkg == p || (pkg.size() > p.size() && pkg.substr(0, p.size()) == p && pkg[p.size()] == '/'))
      return true;
  return false;
}

template <typename Test>
bool EventFilter::any_function(const Event& e, std::unordered_map<model::StackId, bool>& cache,
                               Test test) const {
  if (e.kind == EventKind::kGoCreate && e.start_pc) {
    const std::string_view start = symbols_->function_at(e.start_pc);
    if (!start.empty() && test(start)) return true;
  }
  if (!e.stack) return false;
  auto [it, inserted] = cache.try_emplace(e.stack, false);
  if (inserted)
    for (const auto& f : symbols_->stack(e.stack).frames)
      if (f.known() && test(f.function)) {
        it->second = true;
        break;
      }
  return it->second;
}

bool EventFilter::is_runtime_goroutine(uint64_t goid) const {
  if (!state_ || !goid) return false;
  const state::GoroutineInfo* g = state_->goroutine(goid);
  return g && g->runtime;
}

bool EventFilter::runtime_only(const Event& e) const {
  switch (e.kind) {
    case EventKind::kStopTheWorld:
    case EventKind::kStartTheWorld:
      return false;  // about the whole process, whoever stopped it
    case EventKind::kGoCreate:
      return e.start_pc && state::is_system_goroutine(symbols_->function_at(e.start_pc));
    case EventKind::kPark: {
      // Nothing but the runtime on a stack that could be read: a park of its own machinery.
      const state::SymbolizedStack& s = symbols_->stack(e.stack);
      bool any_known = false;
      for (const auto& f : s.frames) any_known = any_known || f.known();
      if (any_known && s.site < 0) return true;
      break;
    }
    default:
      break;
  }
  // Hidden when every goroutine it names is the runtime's (the runtime itself, goid 0, names none).
  const bool goid_runtime = !e.goid || is_runtime_goroutine(e.goid);
  const bool other_runtime = !e.other_goid || is_runtime_goroutine(e.other_goid);
  return goid_runtime && other_runtime && (e.goid || e.other_goid);
}

bool EventFilter::accepts(const Event& e) const {
  if (!any_kind_ && !kinds_.test(static_cast<size_t>(e.kind))) return false;
  if (!goids_.empty() && !goids_.count(e.goid) && !(e.other_goid && goids_.count(e.other_goid))) return false;
  if (!objects_.empty()) {
    bool hit = e.object && objects_.count(e.object);
    for (size_t i = 0; i < e.objects.size() && !hit; i++) hit = objects_.count(e.objects[i].address) > 0;
    if (!hit) return false;
  }
  if (!functions_.empty() &&
      !any_function(e, function_cache_, [this](std::string_view f) { return function_matches(f); }))
    return false;
  if (!packages_.empty() &&
      !any_function(e, package_cache_, [this](std::string_view f) { return package_matches(f); }))
    return false;
  if (!include_runtime_ && runtime_only(e)) return false;
  return true;
}

}  // namespace goscope::output
