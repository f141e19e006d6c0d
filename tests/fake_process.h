// A process for the judge to look at, made of tables: the snapshots its looks
// return and the reachability of objects in its memory.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <span>
#include <unordered_set>

#include "detect/process_view.h"
#include "table_oracle.h"

namespace goscope::testing {

// An oracle that answers from a table the test keeps.
class ForwardingOracle : public detect::ReachabilityOracle {
 public:
  explicit ForwardingOracle(TableOracle& table) : table_(table) {}
  Answer reachable(std::span<const uint64_t> t, const std::set<uint64_t>& excluded) override {
    return table_.reachable(t, excluded);
  }
  std::optional<std::unordered_set<uint64_t>> reachable_from_goroutine(uint64_t goid,
                                                                       std::span<const uint64_t> t) override {
    return table_.reachable_from_goroutine(goid, t);
  }
  std::optional<uint64_t> read_word(uint64_t address) override { return table_.read_word(address); }

 private:
  TableOracle& table_;
};

// The process: each look returns the next snapshot queued (or the last one again),
// or fails when none is queued.
class FakeProcess : public detect::ProcessView {
 public:
  bool is_gone = false;
  std::deque<model::ProcessSnapshot> snapshots;
  TableOracle table;
  int looks = 0;
  int scans = 0;

  bool gone() override { return is_gone; }
  Expected<Look> look() override {
    looks++;
    if (snapshots.empty()) return make_error("cannot read the process (the test says so)");
    Look l;
    l.snapshot = snapshots.front();
    if (snapshots.size() > 1) snapshots.pop_front();
    return l;
  }
  std::unique_ptr<detect::ReachabilityOracle> reachability(const model::ProcessSnapshot&, uint64_t) override {
    scans++;
    return std::make_unique<ForwardingOracle>(table);
  }
};

}  // namespace goscope::testing
