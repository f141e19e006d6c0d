// Reachability by table, for tests of the detectors and the judge: which objects
// the globals and each goroutine's stack reach, and the words memory holds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_set>

#include "detect/reachability_oracle.h"

namespace goscope::testing {

// Reachability by table: which objects globals and each goroutine's stack reach.
class TableOracle : public detect::ReachabilityOracle {
 public:
  bool known = true;
  std::set<uint64_t> from_globals;
  std::map<uint64_t, std::set<uint64_t>> from_goroutine;  // goid -> objects
  std::map<uint64_t, uint64_t> words;
  int queries = 0;

  Answer reachable(std::span<const uint64_t> targets, const std::set<uint64_t>& excluded) override {
    queries++;
    Answer a;
    a.known = known;
    if (!known) {
      a.why_unknown = "the test says so";
      return a;
    }
    for (uint64_t t : targets) {
      if (from_globals.count(t)) a.reachable.insert(t);
      for (const auto& [goid, objects] : from_goroutine)
        if (!excluded.count(goid) && objects.count(t)) a.reachable.insert(t);
    }
    return a;
  }
  std::optional<std::unordered_set<uint64_t>> reachable_from_goroutine(
      uint64_t goid, std::span<const uint64_t> targets) override {
    std::unordered_set<uint64_t> out;
    for (uint64_t t : targets)
      if (from_goroutine[goid].count(t)) out.insert(t);
    return out;
  }
  std::optional<uint64_t> read_word(uint64_t address) override {
    auto it = words.find(address);
    if (it == words.end()) return std::nullopt;
    return it->second;
  }
};

}  // namespace goscope::testing
